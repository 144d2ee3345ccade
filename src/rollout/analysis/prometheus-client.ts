import { Agent, request, type Dispatcher } from 'undici';
import { describeFailure, transportFailure } from '../../shared/http-failure';
import { PrometheusError } from './prometheus-error';

/** One series of an instant query's answer. */
export interface PromSample {
  labels: Record<string, string>;
  /** May be NaN or ±Infinity, as Prometheus answers them. */
  value: number;
}

/** What the rollout controller needs of Prometheus: instant queries. */
export interface PromQuerier {
  query(expr: string, at?: number): Promise<PromSample[]>;
}

export interface PrometheusClientOptions {
  /** Base URL, e.g. http://prometheus:9090 (a path prefix such as /prometheus is kept). */
  url: string;
  /** Whole-request timeout; also sent to Prometheus as the query's own timeout. Default 5000. */
  timeoutMs?: number;
  /** Sent with every request (e.g. Authorization for a proxy in front of Prometheus). */
  headers?: Record<string, string>;
}

const MAX_ERROR_TEXT = 300;

interface ApiAnswer {
  status?: unknown;
  errorType?: unknown;
  error?: unknown;
  data?: { resultType?: unknown; result?: unknown };
}

/** Prometheus writes special floats as text: "NaN", "+Inf", "-Inf". */
function parseFloatText(text: unknown): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (typeof text !== 'string') return NaN;
  return Number(text);
}

function isPair(v: unknown): v is [number, string] {
  return Array.isArray(v) && v.length === 2 && typeof v[1] === 'string';
}

/**
 * A small client of the Prometheus HTTP API (`POST /api/v1/query`) on undici. Every failure is a
 * PrometheusError with a stable code; none hangs longer than `timeoutMs`.
 */
export class PrometheusClient implements PromQuerier {
  private readonly endpoint: string;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  private readonly dispatcher: Dispatcher;

  constructor(options: PrometheusClientOptions) {
    const base = options.url.endsWith('/') ? options.url : `${options.url}/`;
    this.endpoint = new URL('api/v1/query', base).toString();
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.headers = options.headers ?? {};
    this.dispatcher = new Agent({
      connect: { timeout: this.timeoutMs },
      keepAliveTimeout: 30_000,
    });
  }

  /** Runs an instant query at `at` (ms since the epoch; default: now at Prometheus). */
  async query(expr: string, at?: number): Promise<PromSample[]> {
    // Prometheus parses durations as integers with a unit: "800ms", not "0.8s".
    const form = new URLSearchParams({
      query: expr,
      timeout: `${Math.max(1, Math.round(this.timeoutMs))}ms`,
    });
    if (at !== undefined) form.set('time', (at / 1000).toFixed(3));
    let status: number;
    let text: string;
    try {
      const res = await request(this.endpoint, {
        method: 'POST',
        dispatcher: this.dispatcher,
        headers: {
          ...this.headers,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (cause) {
      const kind = transportFailure(cause);
      throw new PrometheusError(
        kind === 'timeout' ? 'PROM_TIMEOUT' : 'PROM_UNREACHABLE',
        kind === 'timeout'
          ? `Prometheus did not answer within ${this.timeoutMs} ms (${describeFailure(cause)})`
          : `could not reach Prometheus at ${new URL(this.endpoint).host} (${describeFailure(cause)}); check PROMETHEUS_URL`,
        { cause },
      );
    }
    return this.decode(status, text, expr);
  }

  private decode(status: number, text: string, expr: string): PromSample[] {
    let answer: ApiAnswer;
    try {
      answer = JSON.parse(text) as ApiAnswer;
    } catch (cause) {
      throw new PrometheusError(
        'PROM_BAD_RESPONSE',
        `Prometheus answered HTTP ${status} with a body that is not JSON: ${text.slice(0, MAX_ERROR_TEXT)}`,
        { cause },
      );
    }
    if (typeof answer !== 'object' || answer === null) {
      throw new PrometheusError(
        'PROM_BAD_RESPONSE',
        `Prometheus answered HTTP ${status} with ${text.slice(0, 100)}`,
      );
    }
    if (answer.status === 'error') {
      const detail = `${String(answer.errorType)}: ${String(answer.error).slice(0, MAX_ERROR_TEXT)}`;
      throw new PrometheusError(
        answer.errorType === 'timeout' ? 'PROM_TIMEOUT' : 'PROM_QUERY_ERROR',
        `Prometheus could not run the query ${JSON.stringify(expr.slice(0, 200))} (${detail})`,
      );
    }
    if (status !== 200 || answer.status !== 'success' || typeof answer.data !== 'object') {
      throw new PrometheusError(
        'PROM_BAD_RESPONSE',
        `Prometheus answered HTTP ${status} without a success status: ${text.slice(0, MAX_ERROR_TEXT)}`,
      );
    }
    const { resultType, result } = answer.data;
    if (resultType === 'scalar') {
      if (!isPair(result))
        throw new PrometheusError('PROM_BAD_RESPONSE', 'a scalar result without a value');
      return [{ labels: {}, value: parseFloatText(result[1]) }];
    }
    if (resultType !== 'vector') {
      throw new PrometheusError(
        'PROM_QUERY_ERROR',
        `the query ${JSON.stringify(expr.slice(0, 200))} returned a ${String(resultType)}; a check needs an instant vector or a scalar (wrap a range in rate(), avg_over_time(), ...)`,
      );
    }
    if (!Array.isArray(result))
      throw new PrometheusError('PROM_BAD_RESPONSE', 'a vector result that is not a list');
    return result.map((entry: unknown) => {
      const e = entry as { metric?: unknown; value?: unknown };
      if (typeof e !== 'object' || e === null || !isPair(e.value)) {
        throw new PrometheusError(
          'PROM_BAD_RESPONSE',
          'a vector sample without a [time, value] pair',
        );
      }
      return {
        labels:
          typeof e.metric === 'object' && e.metric !== null
            ? (e.metric as Record<string, string>)
            : {},
        value: parseFloatText(e.value[1]),
      };
    });
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}
