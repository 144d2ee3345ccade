import { z } from 'zod';
import { formatDuration, parseDuration } from '../shared/duration';

/**
 * The `rollout` section of a split in splits.yaml. Durations are written as text ("30s", "5m",
 * "24h") and come out of the schema as milliseconds. Notification URLs may reference environment
 * variables (`${SLACK_WEBHOOK_URL}`) so that secrets stay out of the file; they are resolved when
 * the file is parsed, at start, and an unset variable is an error naming it.
 */

export type Environment = Record<string, string | undefined>;

export const COMPARATORS = ['<', '<=', '>', '>='] as const;
export type Comparator = (typeof COMPARATORS)[number];

export const NO_DATA_POLICIES = ['pause', 'fail', 'ignore'] as const;
export type NoDataPolicy = (typeof NO_DATA_POLICIES)[number];

/** Placeholders a comparison query names; each is replaced by the backend being measured. */
export const PLACEHOLDERS = ['{{backend}}', '{{variant}}'] as const;

const DURATION_HINT = 'must be a duration like "500ms", "30s", "5m", "24h" or "1h30m"';

function duration(what: string, minMs: number, maxMs: number) {
  return z.string({ error: DURATION_HINT }).transform((text, ctx) => {
    const ms = parseDuration(text.trim());
    if (ms === undefined) {
      ctx.issues.push({ code: 'custom', message: `${DURATION_HINT}, not "${text}"`, input: text });
      return z.NEVER;
    }
    if (ms < minMs || ms > maxMs) {
      ctx.issues.push({
        code: 'custom',
        message: `${what} must be from ${formatDuration(minMs)} to ${formatDuration(maxMs)}, not ${text}`,
        input: text,
      });
      return z.NEVER;
    }
    return ms;
  });
}

const DAY = 86_400_000;

const checkName = z
  .string({ error: 'is required: a name for the check, e.g. p95-latency' })
  .max(63, 'must be at most 63 characters')
  .regex(
    /^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$/,
    'must be lowercase letters, digits, _ and inner dashes',
  );

const promql = z
  .string({ error: 'is required: a PromQL expression' })
  .trim()
  .min(1, 'must not be empty: a PromQL expression');

const comparator = z.enum(COMPARATORS, {
  error: `must be one of ${COMPARATORS.join(' ')} (the breach condition, as in an alert rule)`,
});

const onNoData = z
  .enum(NO_DATA_POLICIES, { error: 'must be pause, fail or ignore' })
  .default('pause');

const forWindow = duration('for', 0, 7 * DAY).default(0);

/** A query template: must name the backend through a placeholder, and nothing else. */
const template = promql.superRefine((query, ctx) => {
  if (!PLACEHOLDERS.some((p) => query.includes(p))) {
    ctx.addIssue({
      code: 'custom',
      message:
        'must contain {{backend}} (or {{variant}}): it is replaced by the canary and the stable ' +
        'backend in turn, e.g. variant="{{variant}}"',
    });
  }
  for (const match of query.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
    if (!PLACEHOLDERS.includes(`{{${match[1]}}}` as (typeof PLACEHOLDERS)[number])) {
      ctx.addIssue({
        code: 'custom',
        message: `has an unknown placeholder ${match[0]}; use {{backend}} or {{variant}}`,
      });
    }
  }
});

/** What every check names: itself, its type and, optionally, what it is for. */
function checkIdentity<T extends string>(type: T) {
  return { name: checkName, type: z.literal(type), description: z.string().max(500).optional() };
}

/** How every check turns a breach into a failure: held `for` this long; no data as `onNoData` says. */
const breachTiming = { for: forWindow, onNoData };

const thresholdCheckSchema = z
  .object({
    ...checkIdentity('threshold'),
    query: promql,
    /** The breach condition is `value <comparator> threshold`, as in an alert rule. */
    comparator,
    threshold: z.number({ error: 'is required: a number the query result is compared with' }),
    ...breachTiming,
  })
  .strict();

const comparisonCheckSchema = z
  .object({
    ...checkIdentity('comparison'),
    /** Evaluated once per backend, with {{backend}} / {{variant}} replaced by its name. */
    query: template,
    /** The breach condition is `canary <comparator> factor × stable`. */
    comparator: comparator.default('>'),
    factor: z
      .number({ error: 'is required: the multiple of the stable value, e.g. 1.2' })
      .positive('must be above 0'),
    ...breachTiming,
    /** Below `min` samples on either backend the result is inconclusive. */
    minSamples: z
      .object({
        query: template,
        min: z.number({ error: 'is required: the smallest sample count' }).min(0, 'must be >= 0'),
      })
      .strict()
      .optional(),
    /** What the placeholder becomes for each role; by default the split's backend names. */
    variants: z
      .object({
        stable: z.string().min(1).max(128).optional(),
        canary: z.string().min(1).max(128).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const TRAEFIK_METRICS = ['success-rate', 'latency'] as const;

/**
 * A built-in check over Traefik's own per-service metrics: the queries are built from the
 * backend's Traefik service name (see traefik-checks.ts), so the application exports nothing.
 * - success-rate: % of the canary's answers that are not 5xx; breaches below `min`.
 * - latency: the `quantile` of the canary's request duration; breaches above `max`.
 * With `compareTo: stable` the bound is `factor` × the stable's value over the same window.
 */
const traefikCheckSchema = z
  .object({
    ...checkIdentity('traefik'),
    metric: z.enum(TRAEFIK_METRICS, { error: 'must be success-rate or latency' }),
    /** The rate window. */
    window: duration('window', 1_000, DAY).default(60_000),
    /** success-rate: the smallest acceptable percentage. */
    min: z
      .number({ error: 'must be a percentage, e.g. 99' })
      .min(0, 'must be from 0 to 100')
      .max(100, 'must be from 0 to 100')
      .optional(),
    /** latency: which quantile, e.g. 0.99. */
    quantile: z
      .number({ error: 'must be a number between 0 and 1, e.g. 0.99' })
      .gt(0, 'must be between 0 and 1, e.g. 0.99')
      .lt(1, 'must be between 0 and 1, e.g. 0.99')
      .optional(),
    /** latency: the largest acceptable duration. */
    max: duration('max', 1, 3_600_000).optional(),
    /** Fewer canary requests than this in the window: inconclusive. */
    minRequests: z
      .number({ error: 'must be a whole number of requests, e.g. 20' })
      .int('must be a whole number of requests, e.g. 20')
      .min(0, 'must be >= 0')
      .default(0),
    compareTo: z.literal('stable', { error: 'must be stable' }).optional(),
    /** With compareTo: the multiple of the stable's value that bounds the canary's. */
    factor: z
      .number({ error: 'must be a number, e.g. 1.2' })
      .positive('must be above 0')
      .optional(),
    ...breachTiming,
  })
  .strict()
  .superRefine((c, ctx) => {
    const issue = (path: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [path], message });
    const compared = c.compareTo === 'stable';
    if (compared && c.factor === undefined) {
      issue(
        'factor',
        'is required with compareTo: stable, e.g. 1.2 (latency) or 0.99 (success-rate)',
      );
    }
    if (!compared && c.factor !== undefined) {
      issue('factor', 'needs compareTo: stable: it multiplies the stable backend’s value');
    }
    if (c.metric === 'success-rate') {
      if (c.quantile !== undefined) issue('quantile', 'is for metric: latency only');
      if (c.max !== undefined) issue('max', 'is for metric: latency only; success-rate uses min');
      if (compared && c.min !== undefined) {
        issue('min', 'cannot be used with compareTo: stable: the bound is factor × stable');
      }
      if (!compared && c.min === undefined) {
        issue('min', 'is required for metric: success-rate: the smallest percentage, e.g. 99');
      }
    } else {
      if (c.min !== undefined) issue('min', 'is for metric: success-rate only; latency uses max');
      if (c.quantile === undefined) {
        issue('quantile', 'is required for metric: latency, e.g. 0.99');
      }
      if (compared && c.max !== undefined) {
        issue('max', 'cannot be used with compareTo: stable: the bound is factor × stable');
      }
      if (!compared && c.max === undefined) {
        issue('max', 'is required for metric: latency: a duration like 500ms');
      }
    }
  });

const checkSchema = z.discriminatedUnion(
  'type',
  [thresholdCheckSchema, comparisonCheckSchema, traefikCheckSchema],
  {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? 'needs `type: threshold`, `type: comparison` or `type: traefik`'
        : issue.code === 'invalid_type'
          ? 'must be a check: a mapping with name, type, query, ...'
          : undefined,
  },
);

const VAR_REF = /\$\{([^}]*)\}/g;
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Replaces `${NAME}` from `env`; every problem becomes an issue that names the variable. */
function secretText(env: () => Environment, what: string) {
  return z.string({ error: `must be a ${what}` }).transform((text, ctx) => {
    let failed = false;
    const resolved = text.replace(VAR_REF, (ref, name: string) => {
      if (!VAR_NAME.test(name)) {
        ctx.issues.push({
          code: 'custom',
          message: `has a malformed reference ${ref}`,
          input: text,
        });
        failed = true;
        return ref;
      }
      const value = env()[name];
      if (value === undefined || value === '') {
        ctx.issues.push({
          code: 'custom',
          message: `references \${${name}}, which is not set in the environment`,
          input: text,
        });
        failed = true;
        return ref;
      }
      return value;
    });
    return failed ? z.NEVER : resolved;
  });
}

function secretUrl(env: () => Environment) {
  return secretText(env, 'webhook URL').transform((url, ctx) => {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      // The value may come from a secret: never echo it.
      ctx.issues.push({ code: 'custom', message: 'must be an http(s) URL', input: '[hidden]' });
      return z.NEVER;
    }
    return url;
  });
}

function notificationsSchema(env: () => Environment) {
  // A bare URL is shorthand for {url}; normalizing first keeps the errors of the mapping precise.
  const webhook = z.preprocess(
    (v) => (typeof v === 'string' ? { url: v } : v),
    z
      .object(
        {
          url: secretUrl(env),
          headers: z.record(z.string().min(1), secretText(env, 'header value')).default({}),
        },
        { error: 'must be a URL or a mapping with url and headers' },
      )
      .strict(),
  );
  return z
    .object({
      /** Slack-compatible incoming webhooks: they receive `{"text": ...}`. */
      slack: z.array(secretUrl(env)).default([]),
      /** Generic webhooks: they receive the transition as JSON. */
      webhooks: z.array(webhook).default([]),
    })
    .strict();
}

const percent = z
  .number({ error: 'must be a percentage of traffic for the canary, from 1 to 100' })
  .int('must be a whole percentage')
  .min(1, 'must be from 1 to 100 (0 % is a rollback, not a step)')
  .max(100, 'must be from 1 to 100');

/** Builds the schema with an explicit environment (tests); the default reads process.env. */
export function createRolloutPlanSchema(env: () => Environment = () => process.env) {
  const bake = duration('bakeTime', 0, 30 * DAY);
  // A bare number is shorthand for {percent}; normalizing first keeps the errors precise.
  const step = z.preprocess(
    (v) => (typeof v === 'number' ? { percent: v } : v),
    z
      .object(
        { percent, bakeTime: bake.optional() },
        { error: 'must be a percentage (e.g. 25) or a mapping {percent: 25, bakeTime: 1h}' },
      )
      .strict(),
  );
  return z
    .object({
      /** Canary share at each step, strictly increasing. */
      steps: z
        .array(step, { error: 'must be a list of percentages, e.g. [5, 25, 50, 100]' })
        .min(1, 'needs at least one step')
        .max(20, 'may have at most 20 steps'),
      /** How long each step runs before it may be promoted, unless the step sets its own. */
      bakeTime: bake.optional(),
      /** How often the checks are evaluated. */
      analysisInterval: duration('analysisInterval', 1_000, 3_600_000).default(60_000),
      /**
       * A check whose query fails this many analyses in a row (Prometheus down, a timeout) stops
       * the rollout as `onAnalysisError` says, instead of waiting for Prometheus forever.
       */
      consecutiveErrorLimit: z
        .number({ error: 'must be a whole number of analyses, e.g. 4' })
        .int('must be a whole number of analyses, e.g. 4')
        .min(1, 'must be at least 1')
        .max(1000, 'must be at most 1000')
        .default(4),
      /** What `consecutiveErrorLimit` failed queries do: pause (and notify) or roll back. */
      onAnalysisError: z
        .enum(['pause', 'rollback'], { error: 'must be pause or rollback' })
        .default('pause'),
      /** true: promote when a step has baked and every check passes; false: wait for promote. */
      autoPromote: z.boolean({ error: 'must be true or false' }).default(true),
      checks: z.array(checkSchema, { error: 'must be a list of checks' }).default([]),
      notifications: notificationsSchema(env).default({ slack: [], webhooks: [] }),
    })
    .strict()
    .superRefine((plan, ctx) => {
      plan.steps.forEach((s, i) => {
        if (i > 0 && s.percent <= plan.steps[i - 1].percent) {
          ctx.addIssue({
            code: 'custom',
            path: ['steps', i],
            message: `must be above the step before it (${plan.steps[i - 1].percent}): steps only increase`,
          });
        }
        if (s.bakeTime === undefined && plan.bakeTime === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['steps', i],
            message: 'has no bakeTime: set rollout.bakeTime (the default) or this step’s bakeTime',
          });
        }
      });
      const seen = new Set<string>();
      plan.checks.forEach((c, i) => {
        if (seen.has(c.name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['checks', i, 'name'],
            message: `"${c.name}" is used by another check: names must be unique`,
          });
        }
        seen.add(c.name);
      });
    })
    .transform((plan) => ({
      ...plan,
      steps: plan.steps.map((s) => ({
        percent: s.percent,
        bakeTime: s.bakeTime ?? plan.bakeTime ?? 0,
      })),
    }));
}

/** The schema splits.yaml uses; `${VAR}` references read process.env when the file is parsed. */
export const rolloutPlanSchema = createRolloutPlanSchema();

export type RolloutPlan = z.output<typeof rolloutPlanSchema>;
export type RolloutCheck = RolloutPlan['checks'][number];
export type ThresholdCheck = Extract<RolloutCheck, { type: 'threshold' }>;
export type ComparisonCheck = Extract<RolloutCheck, { type: 'comparison' }>;
export type TraefikCheck = Extract<RolloutCheck, { type: 'traefik' }>;
export type RolloutStep = RolloutPlan['steps'][number];
export type NotificationTargets = RolloutPlan['notifications'];
