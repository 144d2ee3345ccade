import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from '../../metrics/metrics';
import { watchOf, type HeldPolls } from '../../traefik/held-polls';
import type { ConfigProvider } from '../../traefik/provider';
import { bearerOf, tokensEqual } from '../bearer-token';
import { noneMatch, qualityOf } from '../negotiate';

export interface TraefikRouteDeps {
  provider: Pick<ConfigProvider, 'current' | 'stale'>;
  metrics: Metrics;
  providerToken?: string;
  /** Where `?watch=` polls wait for a change; without it `?watch=` answers at once. */
  heldPolls?: HeldPolls;
}

const YAML_TYPES = /^(application\/(x-)?yaml|text\/(x-)?yaml)$/;
const isYaml = (t: string) => YAML_TYPES.test(t);
const isJson = (t: string) => t === 'application/json' || t === 'application/*' || t === '*/*';
const isGzip = (t: string) => t === 'gzip' || t === 'x-gzip';

/** Refuses a poll with a problem document, counted by its status like every other answer. */
function refuse(
  res: ServerResponse,
  metrics: Metrics,
  status: number,
  code: string,
  detail: string,
  headers: Record<string, string> = {},
): void {
  metrics.providerResponses.inc({ status: String(status) });
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/problem+json');
  res.setHeader('Cache-Control', 'no-store');
  res.end(
    JSON.stringify({
      type: `https://traefik-canary-provider.dev/problems/${code}`,
      title: code.toUpperCase().replace(/-/g, '_'),
      status,
      detail,
    }),
  );
}

/**
 * GET /traefik, the endpoint Traefik polls. A plain node:http handler: it is the hot path and
 * serves bytes prepared when the weights last changed, so a poll costs no rendering and no Redis.
 * With `?watch=<duration>` a poll whose connection already has the current body is held until the
 * body changes or the duration ends, then answered exactly as an unheld poll would be.
 */
export function createTraefikHandler(deps: TraefikRouteDeps) {
  const { provider, metrics, providerToken, heldPolls } = deps;
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (providerToken !== undefined) {
      const presented = bearerOf(req.headers.authorization);
      if (presented === undefined || !tokensEqual(presented, providerToken)) {
        refuse(
          res,
          metrics,
          401,
          'unauthorized',
          'GET /traefik needs `Authorization: Bearer <PROVIDER_TOKEN>`',
          { 'WWW-Authenticate': 'Bearer' },
        );
        return;
      }
    }
    const url = req.url ?? '';
    const watch = url.includes('watch=') ? watchOf(url) : undefined;
    if (typeof watch === 'object') {
      refuse(res, metrics, 400, 'validation-failed', watch.error);
      return;
    }
    const body = provider.current();
    if (body === undefined) {
      refuse(
        res,
        metrics,
        503,
        'no-configuration-yet',
        'no weights have been read from Redis yet; the service answers as soon as Redis does',
        { 'Retry-After': '1' },
      );
      return;
    }
    if (
      watch !== undefined &&
      heldPolls !== undefined &&
      req.method === 'GET' &&
      heldPolls.hold(req, res, body.etag, watch, () => answer(req, res))
    ) {
      return;
    }
    answer(req, res);
  };

  /** The answer for the configuration as it is now. */
  function answer(req: IncomingMessage, res: ServerResponse): void {
    const body = provider.current();
    if (body === undefined || res.destroyed) return;
    // Shutting down: the client's next poll must open a new connection, not reuse one being closed.
    if (heldPolls?.closing) res.setHeader('Connection', 'close');
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const accept = req.headers.accept;
    const yamlQuality = accept === undefined ? 0 : qualityOf(accept, isYaml);
    const wantsYaml =
      (query >= 0 && /[?&]format=yaml(&|$)/.test(url.slice(query))) ||
      // YAML when Accept lists it (q > 0) at least as high as JSON.
      (yamlQuality > 0 && yamlQuality >= qualityOf(accept ?? '', isJson));
    res.setHeader('ETag', body.etag);
    res.setHeader('Vary', 'Accept, Accept-Encoding');
    res.setHeader('Cache-Control', 'no-cache');
    if (provider.stale) {
      res.setHeader('X-Config-Stale', 'true');
      metrics.staleServes.inc();
    }
    const unchanged = noneMatch(req.headers['if-none-match'], body.etag);
    const status = unchanged ? 304 : 200;
    metrics.providerResponses.inc({ status: String(status) });
    if (req.method === 'GET') heldPolls?.sent(req, body.etag);
    res.statusCode = status;
    if (unchanged) {
      res.end();
      return;
    }
    if (wantsYaml) {
      res.setHeader('Content-Type', 'application/yaml; charset=utf-8');
      res.end(req.method === 'HEAD' ? undefined : body.yaml());
      return;
    }
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    if (qualityOf(req.headers['accept-encoding'], isGzip) > 0) {
      res.setHeader('Content-Encoding', 'gzip');
      res.end(req.method === 'HEAD' ? undefined : body.gzip());
      return;
    }
    res.end(req.method === 'HEAD' ? undefined : body.json);
  }
}
