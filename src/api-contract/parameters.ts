import { z } from 'zod';
import { NAME_PATTERN } from './limits';

/** Request parameters and response headers the operations share, one component each. */
export const splitNameParam = z
  .string()
  .regex(NAME_PATTERN)
  .meta({
    param: {
      id: 'SplitName',
      in: 'path',
      name: 'name',
      example: 'council',
      description: 'a split declared in splits.yaml',
    },
  });

export const ifMatchParam = z
  .string()
  .optional()
  .meta({
    param: {
      id: 'IfMatch',
      description:
        'The split\'s ETag (from GET /api/v1/splits/{name} or an earlier write), a comma-separated list of them, or `*`. The write happens only when the current ETag is one of those listed (`*`: when the split\'s key exists); else it answers 412 and writes nothing. A weak ETag (`W/"…"`) never matches, and an empty, blank or malformed header matches nothing (412): a condition that was sent is never dropped. Absent: the write is unconditional.',
    },
  });

export const actorParam = z
  .string()
  .optional()
  .meta({
    param: {
      id: 'XActor',
      description:
        'who makes the change, for the audit event (at most 100 characters kept); default the source',
    },
  });

export const changeSourceParam = z
  .enum(['cli', 'api'])
  .optional()
  .meta({
    param: {
      id: 'XChangeSource',
      description: '`cli` marks the change as made by canaryctl; anything else counts as `api`',
    },
  });

/** Who asks, on every write. */
export const originHeaders = z.object({
  'X-Actor': actorParam,
  'X-Change-Source': changeSourceParam,
});

export const configETagHeader = z.string().meta({
  header: {
    id: 'ETag',
    description: 'strong ETag of the served configuration (same for JSON, YAML and gzip)',
  },
});

export const splitETagHeader = z.string().meta({
  header: {
    id: 'SplitETag',
    description: "the split's version, to send back as If-Match",
  },
});

export const configStaleHeader = z
  .literal('true')
  .optional()
  .meta({
    header: {
      id: 'XConfigStale',
      description: '`true` while Redis is unreachable and the last good configuration is served',
    },
  });

export const uiContentSecurityPolicyHeader = z.string().meta({
  header: {
    id: 'UiContentSecurityPolicy',
    description:
      "`default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'`",
  },
});

export const wwwAuthenticateHeader = z.string().meta({
  header: {
    id: 'WWWAuthenticate',
    description: '`Bearer`',
  },
});

export const retryAfterHeader = z
  .number()
  .int()
  .meta({ header: { id: 'RetryAfter', description: 'seconds to wait before trying again' } });
