import { request } from 'undici';
import { sleep } from '../../scripts/lib/child-process';
import { ADMIN_TOKEN } from './service';

/** The header of a call to the admin API with ADMIN_TOKEN (supertest's `.set`, undici's headers). */
export const ADMIN_AUTH = { Authorization: `Bearer ${ADMIN_TOKEN}` };

/** The headers of a JSON write to the admin API with ADMIN_TOKEN. */
export const ADMIN_JSON_HEADERS = { ...ADMIN_AUTH, 'Content-Type': 'application/json' };

/**
 * One call of a running service's admin API as an operator makes it: ADMIN_TOKEN, a JSON body
 * when given, and the answer read whole (an unread body keeps its connection). `timeoutMs` bounds
 * the wait for an answer, for calls sent while Redis fails over (undici's own default is minutes).
 */
async function callAdminApi(
  serviceUrl: string,
  method: 'GET' | 'PUT' | 'POST',
  path: string,
  body?: unknown,
  timeoutMs?: number,
): Promise<{ status: number; text: string }> {
  const res = await request(`${serviceUrl}${path}`, {
    method,
    headers: ADMIN_JSON_HEADERS,
    ...(body !== undefined && { body: JSON.stringify(body) }),
    ...(timeoutMs !== undefined && { headersTimeout: timeoutMs, bodyTimeout: timeoutMs }),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

/** callAdminApi with the answer parsed as JSON: what the tests of the API's answers read. */
export async function adminApiRequest<T = Record<string, unknown>>(
  serviceUrl: string,
  method: 'GET' | 'PUT' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const { status, text } = await callAdminApi(serviceUrl, method, path, body);
  return { status, body: JSON.parse(text) as T };
}

/** PUT /api/v1/splits/<split>/weights: the status (`timeoutMs` as for callAdminApi). */
export async function putWeights(
  serviceUrl: string,
  split: string,
  weights: Record<string, number>,
  timeoutMs?: number,
): Promise<number> {
  const path = `/api/v1/splits/${split}/weights`;
  return (await callAdminApi(serviceUrl, 'PUT', path, { weights }, timeoutMs)).status;
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
    await sleep(200);
  }
  return { status, attempts };
}
