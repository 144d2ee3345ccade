import { Agent, request } from 'undici';
import type { z } from 'zod';
import { problemSchema } from '../api-contract';
import { CliError, UsageError } from './cli-error';
import { ExitCode, exitCodeForStatus } from './exit-codes';

export const DEFAULT_URL = 'http://127.0.0.1:9500';
const CONNECT_TIMEOUT_MS = 5_000;
const ANSWER_TIMEOUT_MS = 30_000;

export interface ApiRequest {
  method: 'GET' | 'POST' | 'PUT';
  /** Path under the service's URL, already encoded: `/api/v1/splits/council`. */
  path: string;
  query?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** How much longer than usual the service may take to answer (`--wait`). */
  extraTimeoutMs?: number;
}

export interface ApiResponse {
  status: number;
  etag: string | undefined;
  /** The parsed JSON body. */
  body: unknown;
}

/**
 * An error answer, as much of a problem document as it holds: a proxy in front of the service may
 * answer with less than the service's error handler writes.
 */
const problemAnswerSchema = problemSchema.partial();
export type ProblemAnswer = z.infer<typeof problemAnswerSchema>;

/** Reads CANARY_URL: an http(s) URL, without a trailing slash. */
export function resolveBaseUrl(value: string | undefined): string {
  const text = value === undefined || value.trim() === '' ? DEFAULT_URL : value.trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`CANARY_URL is not a URL: "${text}" (e.g. ${DEFAULT_URL})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`CANARY_URL must be an http:// or https:// URL, got "${text}"`);
  }
  return text.replace(/\/+$/, '');
}

export function urlOf(baseUrl: string, req: Pick<ApiRequest, 'path' | 'query'>): string {
  const query = new URLSearchParams(req.query ?? {}).toString();
  return `${baseUrl}${req.path}${query === '' ? '' : `?${query}`}`;
}

/** The lines to print for an error answer: the detail, each field problem, and a hint. */
export function describeProblem(
  status: number,
  problem: ProblemAnswer | undefined,
  rawText: string,
  context: { method: string; url: string; etag?: string },
): { message: string; details: string[] } {
  const details: string[] = [];
  let message: string;
  if (problem?.detail !== undefined) {
    // A validation detail repeats its field list; print the list once, from `errors`.
    message =
      problem.errors && problem.errors.length > 0
        ? problem.detail.split('\n')[0].replace(/:$/, '')
        : problem.detail;
    for (const e of problem.errors ?? []) details.push(`  ${e.path}: ${e.message}`);
  } else {
    const text = rawText.trim().slice(0, 200);
    message = `${context.method} ${context.url} answered HTTP ${status}${text ? `: ${text}` : ''}`;
  }
  if (status === 401 || status === 403) {
    details.push("hint: set CANARY_TOKEN to the service's ADMIN_TOKEN");
  } else if (status === 412 && context.etag) {
    details.push(
      `hint: the split's current ETag is ${context.etag}; check its state with \`canaryctl status\` and retry with --if-match '${context.etag}'`,
    );
  } else if (status === 404 && problem?.detail?.startsWith('no route for')) {
    details.push(`hint: the service at ${context.url} may be older than this canaryctl`);
  }
  return { message, details };
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // Node's happy-eyeballs connect fails with an AggregateError holding one error per address.
  const inner = (err as { errors?: unknown }).errors;
  return Array.isArray(inner) ? errorCode(inner[0]) : undefined;
}

const NOTHING_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

function transportReason(code: string | undefined, err: unknown, timeoutMs: number): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `no connection within ${CONNECT_TIMEOUT_MS / 1000}s`;
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return `no answer within ${Math.round(timeoutMs / 1000)}s`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'the connection was closed before an answer';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

/**
 * The service's HTTP API over undici. Each call either returns a 2xx answer with its JSON body or
 * throws a CliError whose exit code says what went wrong (see exit-codes.ts).
 */
export class ApiClient {
  private readonly agent = new Agent({ connect: { timeout: CONNECT_TIMEOUT_MS } });

  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
  ) {}

  async send(req: ApiRequest): Promise<ApiResponse> {
    const url = urlOf(this.baseUrl, req);
    const timeoutMs = ANSWER_TIMEOUT_MS + (req.extraTimeoutMs ?? 0);
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (req.body !== undefined) headers['content-type'] = 'application/json';

    let status: number;
    let etag: string | undefined;
    let text: string;
    try {
      const res = await request(url, {
        dispatcher: this.agent,
        method: req.method,
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      status = res.statusCode;
      const header = res.headers.etag;
      etag = Array.isArray(header) ? header[0] : header;
      text = await res.body.text();
    } catch (err) {
      const code = errorCode(err);
      const details = [`hint: set CANARY_URL to the service's URL (now ${this.baseUrl})`];
      // Only once the request may have left: a refused or unresolved connection sent nothing.
      if (req.method !== 'GET' && !NOTHING_SENT.has(code ?? '')) {
        details.push(
          'hint: the write may have been made before the connection failed: check with `canaryctl history <split>`',
        );
      }
      throw new CliError(
        `cannot reach the canary service at ${this.baseUrl}: ${transportReason(code, err, timeoutMs)}`,
        ExitCode.UNREACHABLE,
        { details, cause: err },
      );
    }

    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }

    if (status < 200 || status >= 300) {
      const parsed = problemAnswerSchema.safeParse(body);
      const { message, details } = describeProblem(
        status,
        parsed.success ? parsed.data : undefined,
        text,
        { method: req.method, url, etag },
      );
      if (parsed.success && parsed.data.title === 'WRITE_NOT_REPLICATED') {
        throw new CliError(`written, but not replicated: ${message}`, ExitCode.NOT_REPLICATED, {
          details: [
            'hint: the write stands on the Redis primary and is served; check it with `canaryctl status`, and run the command again once the replicas are back to be sure it survives a failover',
          ],
          status,
        });
      }
      throw new CliError(message, exitCodeForStatus(status), { details, status });
    }
    if (body === undefined) {
      throw new CliError(
        `${req.method} ${url} answered HTTP ${status} without a JSON body`,
        ExitCode.FAILURE,
      );
    }
    return { status, etag, body };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
