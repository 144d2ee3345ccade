import http from 'node:http';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The bytes as sent (no decompression). */
  body: Buffer;
}

/** The admin token every service the bench starts accepts. */
export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789';

/** The headers of a JSON write to a bench service's admin API. */
export const BENCH_ADMIN_HEADERS = {
  authorization: `Bearer ${BENCH_ADMIN_TOKEN}`,
  'content-type': 'application/json',
};

/** One keep-alive connection pool for the bench's own probes (not the load generator). */
export const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });

/** A plain HTTP request that returns the raw bytes; rejects on a connection error or timeout. */
export function request(
  url: string,
  options: {
    method?: string;
    headers?: http.OutgoingHttpHeaders;
    body?: string;
    timeoutMs?: number;
    agent?: http.Agent;
  } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: options.agent ?? probeAgent,
        timeout: options.timeoutMs ?? 5_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`${url}: no answer in ${options.timeoutMs ?? 5_000} ms`)),
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export function json(url: string, timeoutMs = 5_000): Promise<unknown> {
  return request(url, { timeoutMs }).then((r) => {
    if (r.status !== 200)
      throw new Error(`${url} answered ${r.status}: ${r.body.toString().slice(0, 200)}`);
    return JSON.parse(r.body.toString()) as unknown;
  });
}
