import type { ZodOpenApiResponseObject } from 'zod-openapi';
import { z } from 'zod';
import { retryAfterHeader, splitETagHeader, wwwAuthenticateHeader } from './parameters';
import { problemSchema } from './problem';

const problem = { 'application/problem+json': { schema: problemSchema } };

/** An error answer: a problem document, described once and shared by the operations. */
function errorResponse(
  id: string,
  description: string,
  extra: Pick<ZodOpenApiResponseObject, 'headers'> = {},
): ZodOpenApiResponseObject {
  return { id, description, ...extra, content: problem };
}

/** An error answer of one operation only. */
export function ownErrorResponse(description: string): ZodOpenApiResponseObject {
  return { description, content: problem };
}

export const errorResponses = {
  badRequest: errorResponse(
    'BadRequest',
    'The body or query is invalid (problem type `validation-failed`, with `errors[]`): not JSON, unknown fields, wrong types, an unknown or missing backend, all weights 0, percent out of 0-100, a bad `limit`, `?wait` without TRAEFIK_API_URLS.',
  ),
  unauthorized: errorResponse(
    'Unauthorized',
    'Missing or wrong `Authorization: Bearer <ADMIN_TOKEN>`, or ADMIN_TOKEN unset on the service (problem type `unauthorized`).',
    { headers: z.object({ 'WWW-Authenticate': wwwAuthenticateHeader }) },
  ),
  notFound: errorResponse(
    'NotFound',
    'the split is not declared in splits.yaml (problem type `not-found`)',
  ),
  preconditionFailed: errorResponse(
    'PreconditionFailed',
    "If-Match does not name the split's current version (problem type `precondition-failed`). The `ETag` header carries the current one.",
    { headers: z.object({ ETag: splitETagHeader }) },
  ),
  payloadTooLarge: errorResponse(
    'PayloadTooLarge',
    'the body is larger than 16 KiB (problem type `body-too-large`)',
  ),
  unsupportedMediaType: errorResponse(
    'UnsupportedMediaType',
    'a body that is not `Content-Type application/json` (problem type `unsupported-media-type`)',
  ),
  rolloutConflict: errorResponse(
    'RolloutConflict',
    'The rollout is not in a state that allows this (start while one runs, resume one that is not paused, a command for a split that has had no rollout), or the split has no rollout plan (problem type `rollout-conflict`); or the stored rollout state is not one or its key has the wrong type (`rollout-state-invalid`, `corrupt-data`: the detail names the key and how to clear it); or the rollout kept changing under the command, another writer winning each retry (`stale-revision`: nothing was written, send it again).',
  ),
  corruptData: errorResponse(
    'CorruptData',
    'Redis answered, but a key holds data the service cannot use (a key of the wrong type, a stored rollout state that is not one): problem type `corrupt-data` or `rollout-state-invalid`. The detail names the key and how to clear it; nothing was written.',
  ),
  redisUnavailable: errorResponse(
    'RedisUnavailable',
    'Redis did not answer; nothing was written (problem type `redis-unavailable`)',
  ),
  openReadsBusy: errorResponse(
    'OpenReadsBusy',
    'Too many API reads without the admin token at once: OPEN_READ_CONCURRENCY are being served and OPEN_READ_QUEUE wait (problem type `open-reads-busy`). Retry after `Retry-After` seconds, or send the admin token: reads with it are not limited.',
    { headers: z.object({ 'Retry-After': retryAfterHeader }) },
  ),
  readUnavailable: errorResponse(
    'ReadUnavailable',
    'Redis did not answer (problem type `redis-unavailable`), or too many API reads without the admin token at once (`open-reads-busy`, with `Retry-After`: see OpenReadsBusy).',
    { headers: z.object({ 'Retry-After': retryAfterHeader }) },
  ),
  writeNotConfirmed: errorResponse(
    'WriteNotConfirmed',
    "The write is stored and served, but a confirmation did not come in time: with `?wait=applied`, a Traefik did not apply it (problem type `propagation-timeout`, naming the instances that lag); with REDIS_WRITE_REPLICAS set, fewer replicas than it asks for confirmed the write within REDIS_WRITE_TIMEOUT_MS (problem type `write-not-replicated`, with `replicasWanted` and `replicasConfirmed`): a Redis failover now could lose it. Check the replicas and the split's status, and send the write again to be sure.",
  ),
  writeNotReplicated: errorResponse(
    'WriteNotReplicated',
    "REDIS_WRITE_REPLICAS is set and fewer replicas than it asks for confirmed the write within REDIS_WRITE_TIMEOUT_MS (problem type `write-not-replicated`, with `replicasWanted` and `replicasConfirmed`). The write is on the Redis primary and acts; a failover now could lose it. Check the replicas and the rollout's status, and repeat the command if it is missing.",
  ),
} satisfies Record<string, ZodOpenApiResponseObject>;

const e = errorResponses;

/**
 * The error answers of each kind of operation, by status: the one list to change when a route
 * gains an error answer (add the response to `errorResponses`, then its status here).
 */
export const ERRORS = {
  /** GET /api/v1/splits */
  splitList: { '503': e.openReadsBusy },
  /** GET /api/v1/splits/{name} */
  splitRead: { '400': e.badRequest, '404': e.notFound, '503': e.openReadsBusy },
  /** GET /api/v1/splits/{name}/history */
  history: {
    '400': e.badRequest,
    '404': e.notFound,
    '409': e.corruptData,
    '503': e.readUnavailable,
  },
  /** PUT …/weights, POST …/scale, …/rollback, …/promote */
  weightsWrite: {
    '400': e.badRequest,
    '401': e.unauthorized,
    '404': e.notFound,
    '409': e.corruptData,
    '412': e.preconditionFailed,
    '413': e.payloadTooLarge,
    '415': e.unsupportedMediaType,
    '503': e.redisUnavailable,
    '504': e.writeNotConfirmed,
  },
  /** POST …/rollout and its commands (pause, resume, promote, abort) */
  rolloutWrite: {
    '400': e.badRequest,
    '401': e.unauthorized,
    '404': e.notFound,
    '409': e.rolloutConflict,
    '413': e.payloadTooLarge,
    '415': e.unsupportedMediaType,
    '503': e.redisUnavailable,
    '504': e.writeNotReplicated,
  },
  /** POST …/rollout/finalise: a rollout command that writes the weights, under If-Match */
  rolloutFinalise: {
    '400': e.badRequest,
    '401': e.unauthorized,
    '404': e.notFound,
    '409': e.rolloutConflict,
    '412': e.preconditionFailed,
    '413': e.payloadTooLarge,
    '415': e.unsupportedMediaType,
    '503': e.redisUnavailable,
    '504': e.writeNotReplicated,
  },
} satisfies Record<string, Record<string, ZodOpenApiResponseObject>>;
