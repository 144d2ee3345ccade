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
    const sections = {
      middlewares: new Map<string, Buffer>(),
      routers: new Map<string, Buffer>(),
      services: new Map<string, Buffer>(),
    };
    for (const split of splits) {
      const fixed = renderStatic(split);
      for (const section of ['middlewares', 'routers', 'services'] as const) {
        for (const [name, value] of Object.entries(fixed[section])) {
          sections[section].set(name, member(name, value));
        }
      }
      sections.services.set(split.name, EMPTY);
    }
    const push = (text: string): void => {
      this.parts.push(Buffer.from(text));
    };
    push('{"http":{');
    // Sections in key order, as canonicalize sorts them; empty ones are left out, as render does.
    let first = true;
    for (const section of ['middlewares', 'routers', 'services'] as const) {
      const of = sections[section];
      if (of.size === 0) continue;
      push(`${first ? '' : ','}"${section}":{`);
      first = false;
      [...of.keys()].sort().forEach((name, i) => {
        if (i > 0) push(',');
        if (section === 'services' && this.byName.has(name))
          this.slots.set(name, this.parts.length);
        this.parts.push(of.get(name) ?? EMPTY);
      });
      push('}');
    }
    push('}}');
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
