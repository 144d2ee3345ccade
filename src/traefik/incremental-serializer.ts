import type { SplitConfig } from '../config/splits';
import type { Weights } from '../store/types';
import { renderStatic, renderWeighted } from './render';
import { canonicalize } from './serialize';

const member = (name: string, value: unknown): string =>
  `${JSON.stringify(name)}:${JSON.stringify(canonicalize(value))}`;

/**
 * Builds the same bytes as `serialize(render(splits, weights)).json`, but re-serializes only the
 * split that changed: the key order of the whole document depends on the splits file alone, and
 * everything but each split's weighted service is fixed at start. With 10,000 splits a change
 * costs one small JSON fragment and a join instead of a full render.
 */
export class IncrementalSerializer {
  /** Service members in document order; the weighted ones are filled by update(). */
  private readonly services: string[];
  private readonly weightedSlot = new Map<string, number>();
  private readonly routers: string[];
  private readonly byName: Map<string, SplitConfig>;

  constructor(splits: readonly SplitConfig[]) {
    this.byName = new Map(splits.map((s) => [s.name, s]));
    const serviceMembers = new Map<string, string>();
    const routerMembers = new Map<string, string>();
    for (const split of splits) {
      const fixed = renderStatic(split);
      for (const [name, service] of Object.entries(fixed.services)) {
        serviceMembers.set(name, member(name, service));
      }
      serviceMembers.set(split.name, '');
      if (fixed.router) routerMembers.set(split.name, member(split.name, fixed.router));
    }
    const serviceNames = [...serviceMembers.keys()].sort();
    this.services = serviceNames.map((n) => serviceMembers.get(n) ?? '');
    serviceNames.forEach((n, i) => {
      if (this.byName.has(n)) this.weightedSlot.set(n, i);
    });
    this.routers = [...routerMembers.keys()].sort().map((n) => routerMembers.get(n) ?? '');
  }

  /** Sets the weights a split serves. Throws, changing nothing, when they cannot be rendered. */
  update(splitName: string, weights: Weights): void {
    const split = this.byName.get(splitName);
    const slot = this.weightedSlot.get(splitName);
    if (!split || slot === undefined) throw new Error(`unknown split "${splitName}"`);
    this.services[slot] = member(splitName, renderWeighted(split, weights));
  }

  /** The whole document. Every split must have been updated once. */
  json(): Buffer {
    const missing = [...this.weightedSlot].find(([, slot]) => this.services[slot] === '');
    if (missing) throw new Error(`no weights to render for split "${missing[0]}"`);
    const services = `"services":{${this.services.join(',')}}`;
    const http =
      this.routers.length > 0 ? `"routers":{${this.routers.join(',')}},${services}` : services;
    return Buffer.from(`{"http":{${http}}}`);
  }
}
