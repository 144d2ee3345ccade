import { formatIssues, type SplitConfig } from '../../src/config/splits';
import { observe, INITIAL_CHECK_STATE } from '../../src/rollout/analysis/check-evaluation';
import { createRolloutPlanSchema, type TraefikCheck } from '../../src/config/rollout-plan-schema';
import {
  checkRule,
  judgeTraefik,
  traefikCheckQueries,
  traefikServiceName,
  traefikServicesOf,
} from '../../src/rollout/analysis/traefik-checks';

const schema = createRolloutPlanSchema(() => ({}));

function parse(check: Record<string, unknown>) {
  const result = schema.safeParse({ steps: [10, 100], bakeTime: '1m', checks: [check] });
  return result.success
    ? { check: result.data.checks[0] as TraefikCheck, errors: '' }
    : { check: undefined, errors: formatIssues(result.error.issues) };
}

function parsed(check: Record<string, unknown>): TraefikCheck {
  const { check: c, errors } = parse(check);
  if (!c) throw new Error(errors);
  return c;
}

const successRate = { name: 'success-rate', type: 'traefik', metric: 'success-rate', min: 99 };
const latency = {
  name: 'latency',
  type: 'traefik',
  metric: 'latency',
  quantile: 0.99,
  max: '500ms',
};

const split: SplitConfig = {
  name: 'council',
  stable: 'v1',
  canary: 'v2',
  backends: [
    { name: 'v1', servers: ['http://127.0.0.1:1'] },
    { name: 'v2', service: 'council-v2@docker' },
  ] as SplitConfig['backends'],
  defaultWeights: { v1: 100, v2: 0 },
};

describe('Traefik service names', () => {
  test('when a backend has servers, then its name is <split>-<backend>@http', () => {
    expect(traefikServiceName(split, 'v1')).toBe('council-v1@http');
  });

  test('when a backend references a service, then that name is used as written', () => {
    expect(traefikServicesOf(split)).toEqual({
      stable: 'council-v1@http',
      canary: 'council-v2@docker',
    });
  });

  test('when a referenced service names no provider, then it is qualified with @http', () => {
    const s = { ...split, backends: [{ name: 'v2', service: 'other' }] } as SplitConfig;
    expect(traefikServiceName(s, 'v2')).toBe('other@http');
  });
});

describe('built-in check queries', () => {
  const services = { stable: 'council-v1@http', canary: 'council-v2@http' };

  test('when the metric is success-rate, then the query is the non-5xx share of requests', () => {
    const q = traefikCheckQueries(parsed({ ...successRate, window: '2m' }), services);
    expect(q).toEqual({
      canary: {
        value:
          '100 * sum(rate(traefik_service_requests_total{service="council-v2@http",code!~"5.."}[2m]))' +
          ' / sum(rate(traefik_service_requests_total{service="council-v2@http"}[2m]))',
        requests: 'sum(increase(traefik_service_requests_total{service="council-v2@http"}[2m]))',
      },
    });
  });

  test('when the metric is latency, then the query is a quantile of the duration histogram', () => {
    const q = traefikCheckQueries(parsed(latency), services);
    expect(q.canary.value).toBe(
      'histogram_quantile(0.99, sum by (le) ' +
        '(rate(traefik_service_request_duration_seconds_bucket{service="council-v2@http"}[1m])))',
    );
    expect(q.stable).toBeUndefined();
  });

  test('when compareTo is stable, then the stable backend gets the same query', () => {
    const q = traefikCheckQueries(
      parsed({ ...latency, max: undefined, compareTo: 'stable', factor: 1.2 }),
      services,
    );
    expect(q.stable?.value).toBe(q.canary.value.replace('council-v2@http', 'council-v1@http'));
    expect(q.stable?.requests).toBe(
      'sum(increase(traefik_service_requests_total{service="council-v1@http"}[1m]))',
    );
  });

  test('when a service name has a quote, then it is escaped in the PromQL string', () => {
    const q = traefikCheckQueries(parsed(successRate), { stable: 'a', canary: 'x"y\\z' });
    expect(q.canary.requests).toBe(
      'sum(increase(traefik_service_requests_total{service="x\\"y\\\\z"}[1m]))',
    );
  });

  test('when judged, then success-rate breaches below min and latency above max', () => {
    expect(checkRule(parsed(successRate)).comparator).toBe('<');
    expect(checkRule(parsed(latency)).comparator).toBe('>');
  });
});

describe('built-in check validation', () => {
  test.each([
    [{ ...successRate, min: undefined }, 'checks[0].min: is required for metric: success-rate'],
    [{ ...successRate, min: 101 }, 'checks[0].min: must be from 0 to 100'],
    [{ ...successRate, max: '1s' }, 'checks[0].max: is for metric: latency only'],
    [{ ...latency, quantile: 1 }, 'checks[0].quantile: must be between 0 and 1'],
    [{ ...latency, quantile: undefined }, 'checks[0].quantile: is required for metric: latency'],
    [{ ...latency, max: 'fast' }, 'checks[0].max: must be a duration like'],
    [{ ...latency, max: undefined }, 'checks[0].max: is required for metric: latency'],
    [{ ...latency, min: 99 }, 'checks[0].min: is for metric: success-rate only'],
    [{ ...latency, compareTo: 'stable' }, 'checks[0].factor: is required with compareTo: stable'],
    [{ ...latency, factor: 1.2 }, 'checks[0].factor: needs compareTo: stable'],
    [{ ...successRate, compareTo: 'stable', factor: 0.99 }, 'checks[0].min: cannot be used'],
    [{ ...successRate, metric: 'errors' }, 'checks[0].metric: must be success-rate or latency'],
    [{ ...successRate, window: '0s' }, 'checks[0].window: window must be from 1s to 1d'],
    [{ ...successRate, minRequests: 2.5 }, 'checks[0].minRequests: must be a whole number'],
    [{ ...successRate, query: 'up' }, 'checks[0]: Unrecognized key'],
  ])('when the check is %j, then the error names the path', (check, message) => {
    expect(parse(check).errors).toContain(message);
  });

  test('when valid, then window and max become milliseconds with defaults filled in', () => {
    expect(parsed(latency)).toMatchObject({ window: 60_000, max: 500, minRequests: 0, for: 0 });
    expect(parsed(latency).onNoData).toBe('pause');
  });
});

describe('built-in check verdicts', () => {
  const at = 1_000;
  const rate = parsed({ ...successRate, minRequests: 20 });

  test('when the canary had fewer than minRequests requests, then it is too few samples', () => {
    const obs = judgeTraefik(rate, at, { value: 50, requests: 19 });
    expect(obs).toEqual({ kind: 'too-few-samples', at, samples: 19, min: 20 });
    expect(observe(checkRule(rate), INITIAL_CHECK_STATE, obs).verdict).toBe('inconclusive');
  });

  test('when the canary had minRequests requests, then its value is judged against min', () => {
    const obs = judgeTraefik(rate, at, { value: 60, requests: 20 });
    expect(obs).toEqual({ kind: 'value', at, value: 60, threshold: 99 });
    expect(observe(checkRule(rate), INITIAL_CHECK_STATE, obs).verdict).toBe('fail');
  });

  test('when there is no value (0/0), then it is no data', () => {
    expect(judgeTraefik(rate, at, { value: NaN, requests: 20 })).toEqual({ kind: 'no-data', at });
  });

  test('when latency is judged, then the bound is max in seconds', () => {
    const obs = judgeTraefik(parsed(latency), at, { value: 0.8, requests: 5 });
    expect(obs).toEqual({ kind: 'value', at, value: 0.8, threshold: 0.5 });
  });

  test('when compared with the stable, then the bound is factor × stable and both need requests', () => {
    const c = parsed({
      ...latency,
      max: undefined,
      compareTo: 'stable',
      factor: 1.2,
      minRequests: 10,
    });
    expect(judgeTraefik(c, at, { value: 0.3, requests: 50 }, { value: 0.2, requests: 50 })).toEqual(
      { kind: 'value', at, value: 0.3, threshold: 0.24, stable: 0.2 },
    );
    expect(judgeTraefik(c, at, { value: 0.3, requests: 50 }, { value: 0.2, requests: 9 })).toEqual({
      kind: 'too-few-samples',
      at,
      samples: 9,
      min: 10,
    });
  });
});
