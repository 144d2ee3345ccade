import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startBackend, type BackendHandle } from '../../scripts/lib/backend-server';
import { waitUntil } from '../../scripts/lib/ports';
import {
  requireTraefikBinary,
  startTraefik,
  type TraefikHandle,
} from '../../scripts/lib/traefik-process';

/**
 * Proves the e2e harness itself against the real Traefik binary, before any product code is in
 * the loop: a stand-in provider serves a fixed weighted service, and we check that Traefik polls it
 * with the token, routes by the weights, and reports them on its API.
 */

const TOKEN = randomBytes(16).toString('hex');
const WEIGHTS = { a: 3, b: 1 } as const;
const SERVICE = 'harness';

interface ProviderServer {
  url: string;
  /** Headers of every poll, in order, whatever the answer was. */
  polls: IncomingHttpHeaders[];
  rejected(): number;
  stop(): Promise<void>;
}

function dynamicConfig(a: BackendHandle, b: BackendHandle): string {
  return JSON.stringify({
    http: {
      routers: {
        [SERVICE]: { rule: 'PathPrefix(`/`)', entryPoints: ['web'], service: SERVICE },
      },
      services: {
        [SERVICE]: {
          weighted: {
            services: [
              { name: 'a', weight: WEIGHTS.a },
              { name: 'b', weight: WEIGHTS.b },
            ],
          },
        },
        a: { loadBalancer: { servers: [{ url: a.url }] } },
        b: { loadBalancer: { servers: [{ url: b.url }] } },
      },
    },
  });
}

/** A provider stand-in: serves `body` on GET /traefik only to `Authorization: Bearer TOKEN`. */
async function startProviderServer(body: string): Promise<ProviderServer> {
  const polls: IncomingHttpHeaders[] = [];
  let rejected = 0;
  const server = http.createServer((req, res) => {
    polls.push({ ...req.headers });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      rejected += 1;
      res.writeHead(401, { 'Content-Type': 'text/plain' }).end('missing or wrong bearer token');
      return;
    }
    if (req.method !== 'GET' || req.url !== '/traefik') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/traefik`,
    polls,
    rejected: () => rejected,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function backendOf(url: string): Promise<string> {
  const res = await fetch(url);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  return res.headers.get('x-backend') ?? fail(`${url} answered without X-Backend`);
}

function fail(message: string): never {
  throw new Error(message);
}

describe('Traefik e2e harness (real Traefik binary)', () => {
  let backendA: BackendHandle | undefined;
  let backendB: BackendHandle | undefined;
  let provider: ProviderServer | undefined;
  let traefik: TraefikHandle | undefined;

  beforeAll(async () => {
    // Throws "… run scripts/install-traefik.sh …": a missing binary fails the suite, never skips it.
    requireTraefikBinary();
    backendA = await startBackend('a');
    backendB = await startBackend('b');
    provider = await startProviderServer(dynamicConfig(backendA, backendB));
    traefik = await startTraefik({ providerUrl: provider.url, providerToken: TOKEN });
    const webUrl = traefik.webUrl;
    // The route exists once the first poll has been applied (pollInterval + throttle).
    await waitUntil('Traefik to route to a backend', async () => {
      await backendOf(`${webUrl}/ready`);
      return true;
    });
  }, 60_000);

  afterAll(async () => {
    // allSettled: one failing stop must not leave the other processes running.
    const stops = [traefik?.stop(), provider?.stop(), backendA?.stop(), backendB?.stop()];
    const results = await Promise.allSettled(stops);
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length > 0) throw new AggregateError(failures.map((f) => f.reason as unknown));
  });

  test('when the provider requires a bearer token, then every poll carries it', async () => {
    // Until now only Traefik has talked to the provider.
    const pollsByTraefik = [...provider!.polls];
    const rejectedPolls = provider!.rejected();

    const unauthenticated = await fetch(provider!.url);
    await unauthenticated.arrayBuffer();

    // The guard is real, so Traefik's routes prove that it sent the token.
    expect(unauthenticated.status).toBe(401);
    expect(rejectedPolls).toBe(0);
    expect(pollsByTraefik.length).toBeGreaterThanOrEqual(1);
    for (const headers of pollsByTraefik) {
      expect(headers.authorization).toBe(`Bearer ${TOKEN}`);
    }
    // Traefik's DEBUG log echoes the provider headers; the harness must not pass the token on.
    expect(traefik!.readLog()).toContain('<providerToken>');
    expect(traefik!.readLog()).not.toContain(TOKEN);
  });

  test('when weights are a:3 b:1, then b gets 25 % of requests within a 5-sigma bound', async () => {
    const N = 400;
    const counts: Record<string, number> = {};

    for (let i = 0; i < N; i += 1) {
      const name = await backendOf(`${traefik!.webUrl}/req/${i}`);
      counts[name] = (counts[name] ?? 0) + 1;
    }

    // If each request independently went to b with p = 1/4, the count of b would be
    // Binomial(N = 400, p = 0.25): mean 100, sigma = sqrt(N p (1 - p)) = sqrt(75) ≈ 8.66.
    // 5 sigma ≈ 43.3, so b in [57, 143] (share 25 % ± 10.8 points); a correct split falls outside
    // with probability < 1e-6. A wrong split does not fit: 50/50 (an omitted weight counted as 1)
    // gives ~200, and a:3 b:1 swapped gives ~300. Traefik's WRR is in fact deterministic
    // (earliest-deadline-first), so it lands within a request or two of 100; the binomial bound is
    // the one that stays sound if Traefik ever randomises the pick.
    const p = WEIGHTS.b / (WEIGHTS.a + WEIGHTS.b);
    const sigma = Math.sqrt(N * p * (1 - p));
    const b = counts.b ?? 0;
    expect(Object.keys(counts).sort()).toEqual(['a', 'b']);
    expect(counts.a + b).toBe(N);
    expect(b).toBeGreaterThanOrEqual(Math.ceil(N * p - 5 * sigma));
    expect(b).toBeLessThanOrEqual(Math.floor(N * p + 5 * sigma));
  });

  test("when the config is applied, then Traefik's API shows the weighted service with the served weights", async () => {
    const res = await fetch(`${traefik!.apiUrl}/api/http/services/${SERVICE}@http`);
    const service = (await res.json()) as {
      name: string;
      provider: string;
      status: string;
      type: string;
      weighted?: { services?: { name: string; weight?: number }[] };
    };

    expect(res.status).toBe(200);
    expect(service).toMatchObject({
      name: `${SERVICE}@http`,
      provider: 'http',
      status: 'enabled',
      type: 'weighted',
    });
    const children = [...(service.weighted?.services ?? [])].sort((x, y) =>
      x.name.localeCompare(y.name),
    );
    expect(children).toEqual([
      { name: 'a', weight: WEIGHTS.a },
      { name: 'b', weight: WEIGHTS.b },
    ]);
  });

  test('when started with a default certificate, then a configuration applied later generates none', async () => {
    const GENERATED = 'No default certificate, fallback to the internal generated certificate';
    const count = (log: string): number => log.split(GENERATED).length - 1;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-harness-file-'));
    const withCert = await startTraefik({
      providerUrl: provider!.url,
      providerToken: TOKEN,
      fileProviderDir: dir,
      defaultCertificate: true,
    });
    try {
      await waitUntil('Traefik with a default certificate to route', async () => {
        await backendOf(`${withCert.webUrl}/ready`);
        return true;
      });
      // The first configurations may be applied before the file provider's arrives; every one
      // after it has the default certificate. A new file is a new configuration to apply.
      const before = count(withCert.readLog());
      fs.writeFileSync(
        path.join(dir, 'extra.yml'),
        'http:\n  middlewares:\n    extra:\n      headers:\n        customResponseHeaders:\n          X-Extra: "1"\n',
      );
      await waitUntil('Traefik to apply the new file', async () => {
        const res = await fetch(`${withCert.apiUrl}/api/http/middlewares/extra@file`);
        await res.arrayBuffer();
        return res.status === 200;
      });
      // Without a default certificate, Traefik generates an RSA key pair for the default store
      // on every configuration it applies.
      expect(count(traefik!.readLog())).toBeGreaterThanOrEqual(1);
      expect(count(withCert.readLog())).toBe(before);
    } finally {
      await withCert.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
