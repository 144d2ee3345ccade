import { request } from 'undici';

/**
 * One call of the service's admin API as an operator makes it: `Authorization: Bearer <token>`,
 * a JSON body when given, and the JSON answer read whole (an unread body keeps its connection).
 */
export async function adminApiRequest<T = Record<string, unknown>>(
  serviceUrl: string,
  token: string,
  method: 'GET' | 'PUT' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await request(`${serviceUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: res.statusCode, body: (await res.body.json()) as T };
}

/**
 * PUT /api/v1/splits/<split>/weights with `token`: the status. `timeoutMs` bounds the wait for
 * an answer, for writes sent while Redis fails over (undici's own default is minutes).
 */
export async function putWeights(
  serviceUrl: string,
  token: string,
  split: string,
  weights: Record<string, number>,
  timeoutMs?: number,
): Promise<number> {
  const res = await request(`${serviceUrl}/api/v1/splits/${split}/weights`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ weights }),
    ...(timeoutMs !== undefined && { headersTimeout: timeoutMs, bodyTimeout: timeoutMs }),
  });
  await res.body.text();
  return res.statusCode;
}

/**
 * Sends `write` every 200 ms until it answers 200 or `limitMs` have passed since `since`; a write
 * that fails or times out counts as refused. After a primary dies, the status and the number of
 * attempts say when writes came back.
 */
export async function retryUntilAccepted(
  write: () => Promise<number>,
  since: number,
  limitMs: number,
): Promise<{ status: number; attempts: number }> {
  let status = 0;
  let attempts = 0;
  while (Date.now() - since < limitMs) {
    attempts++;
    status = await write().catch(() => 0);
    if (status === 200) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return { status, attempts };
}
