import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import {
  startRedisServer,
  uniquePrefix,
  type RedisServerHandle,
} from '../../scripts/lib/redis-process';
import { ADMIN_TOKEN, SPLITS_DOCUMENT, type ServiceProcess } from '../helpers/service';
import { ADMIN_JSON_HEADERS } from '../helpers/admin-api-request';
import { writeSplitsFile } from '../helpers/splits-file';
import type { TraefikHandle } from '../../scripts/lib/traefik-process';
import { startTraefikThenService } from '../helpers/traefik-then-service';
import { ROOT } from '../../scripts/lib/build-dist';

/**
 * The operator page in Debian's chromium (driven by playwright-core, never a downloaded browser)
 * against the built service and a real redis-server.
 */

jest.setTimeout(120_000);

/** UPDATE_SCREENSHOTS=1 refreshes the committed ones; otherwise they go to a temp dir. */
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS
  ? path.join(ROOT, 'docs/screenshots')
  : fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-screenshots-'));
/** The page must show a change within a second; the bound is generous for a loaded machine. */
const LIVE_MS = 1000;

const SPLITS = {
  splits: {
    council: SPLITS_DOCUMENT.splits.council,
    search: {
      stable: 'blue',
      canary: 'green',
      backends: {
        blue: { service: 'search-blue@docker', version: '7.1' },
        green: { service: 'search-green@docker', version: '7.2' },
      },
      defaultWeights: { blue: 100, green: 0 },
      rollout: { steps: [5, 25, 50, 100], bakeTime: '10m', autoPromote: false },
    },
  },
};

interface WeightedChild {
  name: string;
  weight: number;
}

describe('the operator page in a real browser', () => {
  let redisServer: RedisServerHandle;
  let redis: Redis;
  let service: ServiceProcess;
  let traefik: TraefikHandle;
  let splitsFile: ReturnType<typeof writeSplitsFile>;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  const prefix = uniquePrefix('ui');
  const pageErrors: string[] = [];
  const foreignRequests: string[] = [];

  const card = (split: string) => page.locator(`section[data-split="${split}"]`);
  const shareOf = (split: string, backend: string) =>
    card(split).locator(`tr[data-backend="${backend}"] [data-field="share"]`);

  /** The weighted children Traefik would route to now (weight 0 ones are left out). */
  async function servedChildren(split: string): Promise<WeightedChild[]> {
    const res = await fetch(`${service.url}/traefik`);
    const body = (await res.json()) as {
      http: { services: Record<string, { weighted?: { services: WeightedChild[] } }> };
    };
    return body.http.services[split]?.weighted?.services ?? [];
  }

  /** A write by hand, as an operator would type it. */
  const redisCli = (...args: string[]): string => redisServer.cli(...args);

  beforeAll(async () => {
    redisServer = await startRedisServer();
    redis = new Redis(redisServer.url);
    await redis.hset(`${prefix}weights:council`, { main: '75', canary: '25' });
    splitsFile = writeSplitsFile(SPLITS);
    ({ traefik, service } = await startTraefikThenService({ pollInterval: '250ms' }, (started) => ({
      TRAEFIK_API_URLS: started.apiUrl,
      TRAEFIK_POLL_INTERVAL_MS: '250',
      REDIS_URL: redisServer.url,
      KEY_PREFIX: prefix,
      SPLITS_FILE: splitsFile.file,
      LOG_LEVEL: 'warn',
    })));
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcp-chromium-'));
    // A fresh profile per run; Playwright takes the directory itself rather than as a flag.
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      viewport: { width: 1280, height: 900 },
    });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
    page.on('request', (req) => {
      if (!req.url().startsWith(service.url)) foreignRequests.push(req.url());
    });
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(service.url);
    await page.locator('#stream[data-state="live"]').waitFor({ timeout: 10_000 });
  });

  afterAll(async () => {
    await context?.close();
    await service?.stop();
    await traefik?.stop();
    const keys = redis ? await redis.keys(`${prefix}*`) : [];
    if (keys.length > 0) await redis.del(...keys);
    redis?.disconnect();
    await redisServer?.stop();
    splitsFile?.remove();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  });

  test('when the page loads, then it is served under a strict policy and shows the served shares', async () => {
    const res = await fetch(service.url);
    const csp = res.headers.get('content-security-policy') ?? '';

    expect(csp).toContain("default-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(await res.text()).not.toMatch(/<script>|<style|style=/);
    await expect(shareOf('council', 'main').textContent()).resolves.toBe('75%');
    await expect(shareOf('council', 'canary').textContent()).resolves.toBe('25%');
    await expect(
      card('council').locator('tr[data-backend="canary"] [data-field="weight"]').textContent(),
    ).resolves.toBe('25');
    await expect(card('council').locator('[data-field="source"]').textContent()).resolves.toBe(
      'source: redis',
    );
    await expect(card('search').locator('[data-field="source"]').textContent()).resolves.toBe(
      'source: default',
    );
    expect(foreignRequests).toEqual([]);
  });

  test('when redis-cli changes the weights, then the page shows them within a second', async () => {
    redisCli('HSET', `${prefix}weights:council`, 'main', '60', 'canary', '40');
    const changedAt = Date.now();

    await page
      .locator('section[data-split="council"] tr[data-backend="canary"] [data-field="share"]', {
        hasText: /^40%$/,
      })
      .waitFor({ timeout: 10_000 });
    const tookMs = Date.now() - changedAt;
    process.stdout.write(`redis-cli HSET to the page showing it: ${tookMs} ms\n`);

    expect(tookMs).toBeLessThan(LIVE_MS * 3);
    await expect(shareOf('council', 'main').textContent()).resolves.toBe('60%');
    await expect(
      card('council').locator('[data-field="actor"]').first().textContent(),
    ).resolves.toBe('external');
  });

  test('when rollback is clicked without the token, then the 401 problem is shown and nothing is written', async () => {
    const before = await redis.hgetall(`${prefix}weights:council`);
    const eventsBefore = await redis.xlen(`${prefix}events:council`);

    await card('council').getByRole('button', { name: 'Rollback' }).click();

    const notice = page.locator('#notice');
    await notice.filter({ hasText: '401' }).waitFor({ timeout: 10_000 });
    expect(await notice.textContent()).toMatch(/Not authorised \(401\).*admin token/);
    expect(await redis.hgetall(`${prefix}weights:council`)).toEqual(before);
    expect(await redis.xlen(`${prefix}events:council`)).toBe(eventsBefore);
    await expect(shareOf('council', 'canary').textContent()).resolves.toBe('40%');
  });

  test('when rollback is clicked with the token and a <script> reason, then Traefik gets stable 100 % and the reason shows as text', async () => {
    const reason = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByLabel('Your name').fill('Ops <b>Lead</b>');
    await page.getByRole('button', { name: 'Use for writes' }).click();
    await card('council').getByLabel('Reason').fill(reason);

    await card('council').getByRole('button', { name: 'Rollback' }).click();

    await page
      .locator('section[data-split="council"] [data-field="reason"]', { hasText: '<script>' })
      .first()
      .waitFor({ timeout: 10_000 });
    expect(await servedChildren('council')).toEqual([{ name: 'council-main', weight: 100 }]);
    expect(await redis.hgetall(`${prefix}weights:council`)).toEqual({ main: '100', canary: '0' });
    const row = card('council').locator('table.history tbody tr').first();
    await expect(row.locator('[data-field="reason"]').textContent()).resolves.toBe(reason);
    await expect(row.locator('[data-field="actor"]').textContent()).resolves.toBe(
      'Ops <b>Lead</b>',
    );
    await expect(row.locator('td').nth(1).textContent()).resolves.toBe('rollback');
    await expect(shareOf('council', 'main').textContent()).resolves.toBe('100%');
    const applied = card('council').locator('ul.traefik li', { hasText: traefik.apiUrl });
    await applied.filter({ hasText: /^applied/ }).waitFor({ timeout: 10_000 });
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(await page.locator('section img, section script, section b').count()).toBe(0);
    expect(await page.evaluate('sessionStorage.getItem("canary-admin-token")')).toBe(ADMIN_TOKEN);
    expect(await page.evaluate('localStorage.length')).toBe(0);
  });

  test('when a rollout is started elsewhere, then the page shows its step and bake live', async () => {
    const res = await fetch(`${service.url}/api/v1/splits/search/rollout`, {
      method: 'POST',
      headers: ADMIN_JSON_HEADERS,
      body: JSON.stringify({ version: '7.2', reason: 'nightly build' }),
    });
    expect(res.status).toBe(202);

    const facts = card('search').locator('dl.facts');
    await facts.filter({ hasText: '1 of 4' }).waitFor({ timeout: 10_000 });
    await card('search')
      .locator('tr[data-backend="green"] [data-field="share"]', { hasText: /^5%$/ })
      .waitFor({ timeout: 10_000 });
    expect(await facts.textContent()).toMatch(/remaining of 10m/);
    expect(await card('search').locator('[data-field="summary"]').textContent()).not.toBe('');
    await expect(card('search').getByRole('button', { name: 'Pause' }).isVisible()).resolves.toBe(
      true,
    );
  });

  test('when driven by the keyboard, then focus moves through real buttons and shows', async () => {
    await card('council').getByLabel('Reason').focus();
    await page.keyboard.press('Tab');

    const focused = await page.evaluate(
      '[document.activeElement.tagName, document.activeElement.textContent, getComputedStyle(document.activeElement).outlineStyle]',
    );
    expect(focused).toEqual(['BUTTON', '5%', 'solid']);
  });

  test('when shown at a laptop and a phone width, then the screenshots are taken', async () => {
    await page
      .locator('#notice')
      .evaluate((n) => ((n as unknown as { hidden: boolean }).hidden = true));
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({
      path: path.join(SCREENSHOTS, 'operator-page-desktop.png'),
      fullPage: true,
    });
    await page.setViewportSize({ width: 390, height: 844 });
    // The browser's own expression: the tests compile without the DOM's types.
    const overflow = Number(
      await page.evaluate(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      ),
    );
    await page.screenshot({
      path: path.join(SCREENSHOTS, 'operator-page-narrow.png'),
      fullPage: true,
    });
    await page.setViewportSize({ width: 1280, height: 900 });

    expect(overflow).toBeLessThanOrEqual(0);
    expect(fs.statSync(path.join(SCREENSHOTS, 'operator-page-narrow.png')).size).toBeGreaterThan(
      10_000,
    );
  });

  test('when the rollout is aborted from the page, then it rolls back; a pause then shows the 409 in words', async () => {
    await card('search').getByLabel('Reason').fill('error rate');
    await card('search').getByRole('button', { name: 'Abort' }).click();
    await card('search')
      .locator('tr[data-backend="green"] [data-field="share"]', { hasText: /^0%$/ })
      .waitFor({ timeout: 10_000 });

    await card('search').getByRole('button', { name: 'Pause' }).click();

    const notice = page.locator('#notice');
    await notice.filter({ hasText: '409' }).waitFor({ timeout: 10_000 });
    expect(await notice.textContent()).toMatch(/conflicts with the current state \(409\)/);
    const status = await fetch(`${service.url}/api/v1/splits/search/rollout`);
    expect(((await status.json()) as { status: string }).status).toBe('rolled_back');
    expect(await redis.hgetall(`${prefix}weights:search`)).toEqual({ blue: '100', green: '0' });
  });

  test('when the service goes away, then the page says it lost the stream and reconnects', async () => {
    await service.kill();
    await page.locator('#stream[data-state="lost"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('#stream').textContent()).toMatch(/Lost the live stream/);

    await service.restart();
    await page.locator('#stream[data-state="live"]').waitFor({ timeout: 15_000 });
    redisCli('HSET', `${prefix}weights:council`, 'main', '95', 'canary', '5');
    await shareOf('council', 'canary').filter({ hasText: /^5%$/ }).waitFor({ timeout: 10_000 });
    await page.locator('#notice').filter({ hasText: 'Could not read' }).waitFor({
      state: 'hidden',
      timeout: 10_000,
    });
    expect(pageErrors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load/.test(e))).toEqual([]);
  });
});
