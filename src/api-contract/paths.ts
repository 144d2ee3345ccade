import { z } from 'zod';
import type {
  ZodOpenApiOperationObject,
  ZodOpenApiPathsObject,
  ZodOpenApiResponseObject,
} from 'zod-openapi';
import { WATCH_PATTERN } from './limits';
import {
  healthSchema,
  notReadySchema,
  readySchema,
  traefikConfigurationSchema,
} from './operations';
import {
  configETagHeader,
  configStaleHeader,
  ifMatchParam,
  originHeaders,
  splitETagHeader,
  splitNameParam,
  uiContentSecurityPolicyHeader,
  wwwAuthenticateHeader,
} from './parameters';
import { ERRORS, errorResponses, ownErrorResponse } from './responses';
import { rolloutStartBodySchema } from './rollout-requests';
import { rolloutStatusSchema } from './rollout-status';
import {
  historyQuerySchema,
  reasonBodySchema,
  scaleBodySchema,
  waitQuerySchema,
  weightsBodySchema,
} from './split-requests';
import {
  historySchema,
  splitListSchema,
  splitStatusSchema,
  writeResultSchema,
} from './split-status';

const json = <T extends z.ZodType>(schema: T) => ({ 'application/json': { schema } });
const text = (...types: string[]) =>
  Object.fromEntries(types.map((type) => [type, { schema: z.string() }]));

const written = {
  id: 'Written',
  description:
    "The write is stored: the split's new state (as served by the next GET /traefik) and the audit event.",
  headers: z.object({ ETag: splitETagHeader }),
  content: json(writeResultSchema),
};
const rollout = { id: 'Rollout', description: 'the rollout', content: json(rolloutStatusSchema) };
const rolloutAction = { id: 'RolloutAction', required: false, content: json(reasonBodySchema) };

/** A write of a split's weights: the admin token, If-Match, who asks, `?wait=applied`. */
function weightsWrite(
  operation: Pick<ZodOpenApiOperationObject, 'operationId' | 'summary' | 'description'>,
  body: z.ZodType,
  required: boolean,
): ZodOpenApiOperationObject {
  return {
    tags: ['splits'],
    ...operation,
    security: [{ adminToken: [] }],
    requestParams: {
      header: originHeaders.extend({ 'If-Match': ifMatchParam }),
      query: waitQuerySchema,
    },
    requestBody: { required, content: json(body) },
    responses: { '200': written, ...ERRORS.weightsWrite },
  };
}

/** A rollout command: the admin token, who asks, `{reason?}`; the rollout's view in answer. */
function rolloutCommand(
  operation: Pick<ZodOpenApiOperationObject, 'operationId' | 'summary' | 'description'>,
  status: '200' | '202',
  errors: Record<string, ZodOpenApiResponseObject> = ERRORS.rolloutWrite,
): ZodOpenApiOperationObject {
  return {
    tags: ['rollouts'],
    ...operation,
    security: [{ adminToken: [] }],
    requestParams: { header: originHeaders },
    requestBody: rolloutAction,
    responses: { [status]: rollout, ...errors },
  };
}

const splitPath = { parameters: [splitNameParam] };

/**
 * Every operation the service serves, with its parameters, bodies and answers: the source of
 * docs/openapi.yaml (`npm run openapi`).
 */
export const paths: ZodOpenApiPathsObject = {
  '/traefik': {
    get: {
      tags: ['provider'],
      operationId: 'getTraefikConfiguration',
      summary: 'Traefik dynamic configuration (weighted services built from the weights)',
      description: [
        'Prepared when the weights change, so a poll costs no rendering and no Redis round trip. The body is byte-deterministic (sorted keys, no timestamps): equal state gives equal bytes and the same strong ETag, whatever the representation. While Redis is unreachable the last good configuration is served with `X-Config-Stale: true` (Traefik keeps polling at its normal pace instead of backing off after errors). JSON is gzip-compressed when the client accepts gzip.',
        "With `watch`, a poll whose TCP connection last received the current configuration is held until the configuration changes or the duration ends, then answered exactly as an unheld poll would be (same bytes, headers and status). A poll on a new connection, or on one that last received an older configuration, is answered at once. On shutdown every held poll is answered at once. Set Traefik's `pollInterval` shorter and `pollTimeout` longer than the hold (e.g. `?watch=25s`, `pollInterval: 250ms`, `pollTimeout: 30s`).",
      ].join('\n\n'),
      security: [{}, { providerToken: [] }],
      requestParams: {
        query: z.object({
          format: z
            .enum(['yaml'])
            .optional()
            .meta({
              param: {
                description: '`yaml` for YAML; the same is chosen by `Accept: application/yaml`.',
              },
            }),
          watch: z
            .string()
            .regex(WATCH_PATTERN)
            .optional()
            .meta({
              param: {
                description:
                  'Hold the poll until the configuration changes, for at most this long: a duration in `ms`, `s` or `m` (`25s`, `500ms`), at most 60s.',
              },
            }),
        }),
        header: z.object({
          'If-None-Match': z
            .string()
            .optional()
            .meta({
              param: {
                description:
                  'an ETag from an earlier answer (or `*`); when it matches, 304 without a body',
              },
            }),
        }),
      },
      responses: {
        '200': {
          description: 'the configuration',
          headers: z.object({
            ETag: configETagHeader,
            'X-Config-Stale': configStaleHeader,
            'Cache-Control': z.string().meta({ header: { description: '`no-cache`' } }),
            Vary: z.string().meta({ header: { description: '`Accept, Accept-Encoding`' } }),
          }),
          content: {
            'application/json': { schema: traefikConfigurationSchema },
            'application/yaml': { schema: traefikConfigurationSchema },
          },
        },
        '304': {
          description: '`If-None-Match` names the current configuration',
          headers: z.object({
            ETag: configETagHeader,
            'X-Config-Stale': configStaleHeader,
          }),
        },
        '400': ownErrorResponse(
          '`watch` is not a duration of at most 60s (problem type `validation-failed`).',
        ),
        '401': {
          ...ownErrorResponse(
            'PROVIDER_TOKEN is set and the request lacks `Authorization: Bearer <PROVIDER_TOKEN>` (problem type `unauthorized`).',
          ),
          headers: z.object({ 'WWW-Authenticate': wwwAuthenticateHeader }),
        },
        '503': {
          ...ownErrorResponse(
            'No configuration has been built yet: Redis has not answered since the start (problem type `no-configuration-yet`). Never an empty configuration, which Traefik would apply.',
          ),
          headers: z.object({
            'Retry-After': z.string().meta({ header: { description: 'seconds' } }),
          }),
        },
      },
    },
  },

  '/health': {
    get: {
      tags: ['operations'],
      operationId: 'getHealth',
      summary: 'liveness; answers whenever the process runs',
      responses: { '200': { description: 'alive', content: json(healthSchema) } },
    },
  },

  '/ready': {
    get: {
      tags: ['operations'],
      operationId: 'getReady',
      summary:
        'readiness; a configuration exists, the Redis connection is up and Redis answered recently',
      responses: {
        '200': { description: 'ready', content: json(readySchema) },
        '503': { description: 'not ready, with the reasons', content: json(notReadySchema) },
      },
    },
  },

  '/metrics': {
    get: {
      tags: ['operations'],
      operationId: 'getMetrics',
      summary: 'Prometheus metrics (see docs/metrics.md)',
      responses: {
        '200': { description: 'the text exposition format', content: text('text/plain') },
      },
    },
  },

  '/api/v1/splits': {
    get: {
      tags: ['splits'],
      operationId: 'listSplits',
      summary: 'every declared split with its weights and state',
      responses: {
        '200': { description: 'the splits, sorted by name', content: json(splitListSchema) },
        ...ERRORS.splitList,
      },
    },
  },

  '/api/v1/splits/{name}': {
    ...splitPath,
    get: {
      tags: ['splits'],
      operationId: 'getSplit',
      summary: 'one split with its weights, state and ETag',
      responses: {
        '200': {
          description: 'the split',
          headers: z.object({ ETag: splitETagHeader }),
          content: json(splitStatusSchema),
        },
        ...ERRORS.splitRead,
      },
    },
  },

  '/api/v1/splits/{name}/history': {
    ...splitPath,
    get: {
      tags: ['splits'],
      operationId: 'getSplitHistory',
      summary: 'the audit trail of a split, newest first',
      requestParams: { query: historyQuerySchema },
      responses: {
        '200': { description: 'the events, newest first', content: json(historySchema) },
        ...ERRORS.history,
      },
    },
  },

  '/api/v1/splits/{name}/weights': {
    ...splitPath,
    put: weightsWrite(
      {
        operationId: 'setWeights',
        summary: 'set the weight of every backend',
        description:
          'Every backend of the split, non-negative integers, at least one above 0. One atomic write of the hash and the audit event (action `set`).',
      },
      weightsBodySchema,
      true,
    ),
  },

  '/api/v1/splits/{name}/scale': {
    ...splitPath,
    post: weightsWrite(
      {
        operationId: 'scaleSplit',
        summary: 'canary to `percent`, stable to 100 - percent, other backends to 0',
      },
      scaleBodySchema,
      true,
    ),
  },

  '/api/v1/splits/{name}/rollback': {
    ...splitPath,
    post: weightsWrite(
      { operationId: 'rollbackSplit', summary: 'stable to 100, every other backend to 0' },
      reasonBodySchema,
      false,
    ),
  },

  '/api/v1/splits/{name}/promote': {
    ...splitPath,
    post: weightsWrite(
      { operationId: 'promoteSplit', summary: 'canary to 100, every other backend to 0' },
      reasonBodySchema,
      false,
    ),
  },

  '/api/v1/splits/{name}/rollout': {
    ...splitPath,
    get: {
      tags: ['rollouts'],
      operationId: 'getRollout',
      summary: "the split's rollout (step, bake time, each check's last value and verdict)",
      responses: {
        '200': rollout,
        '404': ownErrorResponse('unknown split, or the split has had no rollout yet'),
        '409': errorResponses.rolloutConflict,
        '503': errorResponses.readUnavailable,
      },
    },
    post: {
      tags: ['rollouts'],
      operationId: 'startRollout',
      summary: "start a rollout at its plan's first step",
      description:
        "Records the rollout in Redis; the controller that holds the rollout lease writes the first step's weights at its next tick, hence 202. 409 when a rollout already runs or the split has no `rollout` plan in splits.yaml.",
      security: [{ adminToken: [] }],
      requestParams: { header: originHeaders },
      requestBody: { required: false, content: json(rolloutStartBodySchema) },
      responses: { '202': rollout, ...ERRORS.rolloutWrite },
    },
  },

  '/api/v1/splits/{name}/rollout/pause': {
    ...splitPath,
    post: rolloutCommand(
      {
        operationId: 'pauseRollout',
        summary: 'hold the rollout at its step (takes effect before the answer)',
      },
      '200',
    ),
  },

  '/api/v1/splits/{name}/rollout/resume': {
    ...splitPath,
    post: rolloutCommand(
      {
        operationId: 'resumeRollout',
        summary: 'continue a paused rollout (applied by the controller, hence 202)',
      },
      '202',
    ),
  },

  '/api/v1/splits/{name}/rollout/promote': {
    ...splitPath,
    post: rolloutCommand(
      {
        operationId: 'promoteRollout',
        summary: 'move to the next step now (applied by the controller, hence 202)',
      },
      '202',
    ),
  },

  '/api/v1/splits/{name}/rollout/abort': {
    ...splitPath,
    post: rolloutCommand(
      {
        operationId: 'abortRollout',
        summary: 'roll back now (stable 100 %), written before the answer',
      },
      '200',
    ),
  },

  '/api/v1/splits/{name}/rollout/finalise': {
    ...splitPath,
    post: rolloutCommand(
      {
        operationId: 'finaliseRollout',
        summary:
          'after a completed rollout, once the stable runs the new version, stable 100 % again',
        description:
          'Only for a `completed` rollout. Writes stable 100 % (canary 0 %, action `promote`) with the state, before the answer; the state becomes `finalised` and records the version the stable now runs. A new rollout is refused (409) while the canary serves more than the first step, so a completed one must be finalised first.',
      },
      '200',
      ERRORS.rolloutFinalise,
    ),
  },

  '/': {
    get: {
      tags: ['operator page'],
      operationId: 'getOperatorPage',
      summary: 'the operator page (HTML; its script and style sheet are under /ui/)',
      description:
        "Live splits, rollout progress, history and the write actions (docs/operator-page.md). Served with a strict `Content-Security-Policy` (`default-src 'self'`, no inline script or style, no frames).",
      responses: {
        '200': {
          description: 'the page',
          headers: z.object({ 'Content-Security-Policy': uiContentSecurityPolicyHeader }),
          content: text('text/html'),
        },
      },
    },
  },

  '/ui/{file}': {
    parameters: [
      z.string().meta({
        param: {
          in: 'path',
          name: 'file',
          description: 'a file of the page (`app.js`, `style.css`)',
        },
      }),
    ],
    get: {
      tags: ['operator page'],
      operationId: 'getOperatorPageFile',
      summary: "the page's script or style sheet",
      responses: {
        '200': {
          description: 'the file',
          headers: z.object({ 'Content-Security-Policy': uiContentSecurityPolicyHeader }),
          content: text('text/javascript', 'text/css'),
        },
        '404': errorResponses.notFound,
      },
    },
  },

  '/api/v1/events': {
    get: {
      tags: ['operator page'],
      operationId: 'streamEvents',
      summary: 'server-sent events, one per change of weights, rollout or audit log',
      description: [
        "A `text/event-stream` (send `Accept: text/event-stream`; browsers' EventSource does). It opens with `retry: 1000` and an `event: ready`, then sends, whoever made the change (the API, the rollout controller, redis-cli):",
        [
          "- `event: weights`, data `{type, split, served, source, valid, problems}`: the split's stored value changed (served weights, their source and validity are the new ones);",
          "- `event: audit`, data `{type, split}`: a change made outside the service was recorded in the split's history;",
          "- `event: rollout`, data `{type, split, rollout}`: a rollout's status changed (step, status, a check's verdict...; not the bake clock alone). `rollout` is the `rollout` field of GET /api/v1/splits/{name}, or null.",
        ].join('\n'),
        'Each event has an increasing `id`. A comment line (`: heartbeat`) every 15 s keeps proxies from closing an idle stream. Reads are open, like the other GETs. Events are not replayed: on reconnecting, re-read what you show.',
      ].join('\n\n'),
      responses: {
        '200': { description: 'the stream (it stays open)', content: text('text/event-stream') },
        '406': ownErrorResponse(
          'the request did not accept `text/event-stream` (problem type `not-acceptable`)',
        ),
        '503': ownErrorResponse(
          'As many streams are open as the service keeps (100); retry later (problem type `too-many-streams`, with `Retry-After`).',
        ),
      },
    },
  },
};
