import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Declares metrics on one registry, each name made by `name`: a declaration says only its name,
 * help, labels (and buckets), as the service's and the rollout controller's metrics do.
 */
export function metricDeclarer(registry: Registry, name: (s: string) => string) {
  return {
    gauge: <L extends string = string>(s: string, help: string, labelNames: readonly L[] = []) =>
      new Gauge<L>({ name: name(s), help, labelNames, registers: [registry] }),
    counter: <L extends string = string>(s: string, help: string, labelNames: readonly L[] = []) =>
      new Counter<L>({ name: name(s), help, labelNames, registers: [registry] }),
    histogram: <L extends string = string>(
      s: string,
      help: string,
      buckets: number[],
      labelNames: readonly L[] = [],
    ) => new Histogram<L>({ name: name(s), help, buckets, labelNames, registers: [registry] }),
  };
}
