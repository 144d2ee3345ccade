import type { ZodOpenApiObject } from 'zod-openapi';
import { paths } from './paths';

/** The whole HTTP contract as one OpenAPI document (rendered to docs/openapi.yaml). */
export const openApiDocument: ZodOpenApiObject = {
  openapi: '3.1.0',
  info: {
    title: 'traefik-canary-provider',
    version: '0.1.0',
    summary: 'Traefik HTTP provider serving weighted canary splits from Redis, and its write API.',
    description: [
      "`GET /traefik` is the endpoint Traefik's `providers.http` polls. `/api/v1` reads and changes the weights of the splits declared in `splits.yaml`; every change is one atomic Redis write that also appends an audit event. See docs/api.md for examples and the `canaryctl` CLI.",
      'Errors are `application/problem+json` (RFC 9457) with a stable `type` (`https://traefik-canary-provider.dev/problems/<code>`), a `title` (the code) and a human `detail`; validation problems also list `errors[]` as `{path, message}`. Nothing is written when a write answers an error, except 504 (`?wait=applied` timed out, or fewer replicas than REDIS_WRITE_REPLICAS confirmed the write in time: the write stands).',
      '`GET` routes also answer `HEAD`. A method or path not listed here answers 404 with the problem type `not-found` and the detail `no route for <METHOD> <path>`.',
    ].join('\n\n'),
    license: { name: 'MIT' },
  },
  servers: [{ url: 'http://127.0.0.1:9500', description: 'the default PORT and HOST' }],
  tags: [
    { name: 'provider', description: 'what Traefik polls' },
    { name: 'operations', description: 'health, readiness and metrics' },
    {
      name: 'splits',
      description: 'weights of the canary splits (reads open, writes need ADMIN_TOKEN)',
    },
    {
      name: 'rollouts',
      description: 'staged rollouts driven by the rollout controller (writes need ADMIN_TOKEN)',
    },
    {
      name: 'operator page',
      description: 'the page served at / and the live change stream it listens to',
    },
  ],
  paths,
  components: {
    securitySchemes: {
      adminToken: {
        type: 'http',
        scheme: 'bearer',
        description:
          'ADMIN_TOKEN (16+ characters), compared in constant time. Every write needs it; with ADMIN_TOKEN unset every write answers 401 saying how to set it.',
      },
      providerToken: {
        type: 'http',
        scheme: 'bearer',
        description: 'PROVIDER_TOKEN; required by GET /traefik only when it is set.',
      },
    },
  },
};
