/**
 * The inspector page in headless Chromium: it follows the server live (a queue's depth, a lock's holder),
 * runs under its Content-Security-Policy without a single console error, and leaves a screenshot
 * (`INSPECTOR_SCREENSHOT=docs/inspector.png npx vitest run test/inspector/page.test.ts` refreshes the
 * README's; otherwise it goes to a temp dir).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM_SKIP, launchChromium } from '../fixtures/chromium.js';
import { startInspected, until } from './support.js';

if (CHROMIUM_SKIP !== null) console.warn(CHROMIUM_SKIP);

/** The page's document, inside `page.evaluate` and `waitForFunction` callbacks (the tests compile without the DOM lib). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any;

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe.skipIf(CHROMIUM_SKIP !== null)('inspector page in Chromium', () => {
  let browser: Browser;
  const scratch = mkdtempSync(join(tmpdir(), 'mpm-inspector-'));
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** A page on the inspector, with every console error and page error collected. */
  async function openPage(url: string): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(msg.text());
    });
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(url);
    // Live: the first event has been rendered.
    await page.waitForFunction(() => document.body.dataset.updated !== undefined, null, { timeout: 10_000 });
    return { page, problems };
  }

  const text = (page: Page, selector: string) => page.evaluate((s) => document.querySelector(s)?.textContent ?? null, selector);

  it('shows a queue with its depth within two seconds, and a held lock with its holder', async () => {
    const { connect, inspector, snapshot } = await startInspected();
    const { page, problems } = await openPage(inspector.url);

    const m = await connect();
    const q = await m.Queue();
    for (const item of [1, 2, 3]) await q.put(item);
    // The page updates once a second: the depth is there by the next update.
    await page.waitForFunction(
      () => document.querySelector('#objects tbody tr[data-typeid="Queue"] td.size')?.textContent === '3',
      null,
      { timeout: 2_000 },
    );

    const lock = await m.Lock();
    await lock.acquire();
    const lockId = lock.toObjectRef().token.id;
    const holder = (await until(snapshot, (s) => s.connections.length === 1)).connections[0]?.id as string;
    await page.waitForFunction(
      ([id, who]) => document.querySelector(`#waits tbody tr[data-object-id="${id}"] td.holders`)?.textContent === who,
      [lockId, holder] as const,
      { timeout: 5_000 },
    );
    expect(await text(page, `#waits tbody tr[data-object-id="${lockId}"] td.state`)).toBe('locked');
    expect(await text(page, '#status')).toBe('live');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('renders what clients send as text, never as markup', async () => {
    const { connect, inspector } = await startInspected({ values: true });
    const { page, problems } = await openPage(inspector.url);
    const m = await connect();
    const payload = '<img src=x onerror="document.body.dataset.pwned=1">';
    await m.Value('u', payload);
    await page.waitForFunction((p) => [...document.querySelectorAll('#objects td.value')].some((td: { textContent: string | null }) => td.textContent?.includes(p)), payload, { timeout: 5_000 });
    expect(await page.evaluate(() => document.querySelectorAll('#objects img').length)).toBe(0);
    expect(await page.evaluate(() => document.body.dataset.pwned ?? null)).toBeNull();
    expect(problems).toEqual([]);
    await page.close();
  });

  it('saves a screenshot of a busy server', async () => {
    const { connect, inspector } = await startInspected({ slowCallMs: 50 });
    const { page, problems } = await openPage(inspector.url);
    const a = await connect();
    const b = await connect({ serializer: 'pickle' });
    const c = await connect({ encryption: 'require' });

    const jobs = await a.Queue();
    for (const job of ['resize', 'thumbnail', 'upload', 'notify']) await jobs.put(job);
    const results = await a.dict({ done: 12, failed: 1 });
    const lock = await a.Lock();
    await lock.acquire();
    const ready = await a.Event();
    const sem = await a.Semaphore(3);
    await sem.acquire();
    const empty = await c.Queue();
    const settings = await b.dict();
    await settings.__setitem__('mode', 'fast');
    // Waiters: c waits for a's lock and on an empty queue; a waits for the event.
    const lockId = lock.toObjectRef().token.id;
    const waits = [
      c.client.call(lockId, 'acquire', [true, 30]).catch(() => null),
      empty.get(true, 30).catch(() => null),
      ready.wait(30).catch(() => null),
    ];
    // A few seconds of calls, some failing and some slow, for the charts and the lists.
    const until = Date.now() + 4_000;
    let i = 0;
    while (Date.now() < until) {
      await Promise.all(Array.from({ length: 20 }, (_, k) => results.__setitem__(`k${k}`, i)));
      if (i % 7 === 0) await results.__getitem__('missing').catch(() => null);
      if (i % 25 === 0) await ready.wait(0.06);
      i++;
      await new Promise((r) => setTimeout(r, 20));
    }
    await page.waitForFunction(() => document.querySelectorAll('#errors tbody tr td.err').length > 0, null, { timeout: 5_000 });

    const target = process.env.INSPECTOR_SCREENSHOT ? resolve(process.env.INSPECTOR_SCREENSHOT) : join(scratch, 'inspector.png');
    await page.screenshot({ path: target, fullPage: true });
    expect(statSync(target).size).toBeGreaterThan(10_000);
    expect(readFileSync(target).subarray(0, 8).equals(PNG_MAGIC)).toBe(true);
    expect(problems).toEqual([]);

    await ready.set();
    await lock.release();
    await empty.put('x');
    await Promise.all(waits);
    await page.close();
  });
});
