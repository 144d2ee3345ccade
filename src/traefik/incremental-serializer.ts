import type { SplitConfig } from '../config/splits';
import type { Weights } from '../store/types';
import { renderStatic, renderWeighted } from './render';
import { canonicalize } from './serialize';

const member = (name: string, value: unknown): Buffer =>
  Buffer.from(`${JSON.stringify(name)}:${JSON.stringify(canonicalize(value))}`);

const EMPTY = Buffer.alloc(0);

/**
 * Builds the same bytes as `serialize(render(splits, weights)).json`, but re-serializes only the
 * split that changed: the key order of the whole document depends on the splits file alone, and
 * everything but each split's weighted service is fixed at start. The document is kept as a list
 * of byte pieces (punctuation included) in which a change swaps one piece, so a change costs one
 * small JSON fragment and one copy into the new body, and leaves no garbage that grows with the
 * number of splits.
 */
export class IncrementalSerializer {
  private readonly parts: Buffer[] = [];
  /** Index in `parts` of each split's weighted service. */
  private readonly slots = new Map<string, number>();
  private readonly byName: Map<string, SplitConfig>;
  private unset: number;

  constructor(splits: readonly SplitConfig[]) {
    this.byName = new Map(splits.map((s) => [s.name, s]));
    const services = new Map<string, Buffer>();
    const routers = new Map<string, Buffer>();
    for (const split of splits) {
      const fixed = renderStatic(split);
      for (const [name, service] of Object.entries(fixed.services)) {
        services.set(name, member(name, service));
      }
      services.set(split.name, EMPTY);
      if (fixed.router) routers.set(split.name, member(split.name, fixed.router));
    }
    const push = (text: string): void => {
      this.parts.push(Buffer.from(text));
    };
    const members = (names: string[], of: Map<string, Buffer>): void => {
      names.forEach((name, i) => {
        if (i > 0) push(',');
        if (this.byName.has(name) && of === services) this.slots.set(name, this.parts.length);
        this.parts.push(of.get(name) ?? EMPTY);
      });
    };
    push('{"http":{');
    if (routers.size > 0) {
      push('"routers":{');
      members([...routers.keys()].sort(), routers);
      push('},');
    }
    push('"services":{');
    members([...services.keys()].sort(), services);
    push('}}}');
    this.unset = this.slots.size;
  }

  /** Sets the weights a split serves. Throws, changing nothing, when they cannot be rendered. */
  update(splitName: string, weights: Weights): void {
    const split = this.byName.get(splitName);
    const slot = this.slots.get(splitName);
    if (!split || slot === undefined) throw new Error(`unknown split "${splitName}"`);
    const fragment = member(splitName, renderWeighted(split, weights));
    if (this.parts[slot].length === 0) this.unset -= 1;
    this.parts[slot] = fragment;
  }

  /** The whole document, copied once into a new Buffer. Every split must have been updated once. */
  json(): Buffer {
    if (this.unset > 0) {
      const missing = [...this.slots].find(([, slot]) => this.parts[slot].length === 0);
      throw new Error(`no weights to render for split "${missing?.[0]}"`);
    }
    return Buffer.concat(this.parts);
  }
}
