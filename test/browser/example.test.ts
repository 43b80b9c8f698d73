/**
 * examples/browser as its README runs it: the example server (a child process), its page in headless
 * Chromium, a stock CPython client on the TCP side and the Node client on the WebSocket side, all on one
 * board. Then the server restarts on the same ports, and the page reconnects by itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, run, start, type Proc } from '../fixtures/processes.js';
import { pythonVersions } from '../support/python.js';
import { CHROMIUM_SKIP, TIMEOUT, freePortPair, newPage, type OpenPage } from './harness.js';

const KEY = 'example-test-key';
afterEach(() => killAll());

const py = pythonVersions().find((v) => v.available);

interface Example {
  proc: Proc;
  port: number;
  pageUrl: string;
}

async function startExample(port: number): Promise<Example> {
  const proc = run('examples/browser/server.ts', [String(port)], { env: { MPM_AUTHKEY: KEY } });
  const line = await proc.line(/^page at /, 30_000);
  expect(proc.stdout, proc.describe()).toContain(`listening on ws://127.0.0.1:${port}/mpm`);
  expect(proc.stdout, proc.describe()).toContain(`python at 127.0.0.1:${port + 1}`);
  return { proc, port, pageUrl: line.slice('page at '.length).trim() };
}

/** Runs examples/browser/client.py against the TCP side; its `board:` line, parsed. */
async function python(example: Example, ...args: string[]): Promise<Record<string, unknown>> {
  const proc = start('python3', ['examples/browser/client.py', String(example.port + 1), ...args], { env: { ...py!.env, MPM_AUTHKEY: KEY } });
  expect(await proc.exit(), proc.describe()).toBe(0);
  const line = proc.stdout.find((l) => l.startsWith('board: '));
  expect(line, proc.describe()).toBeDefined();
  return JSON.parse(line!.slice('board: '.length)) as Record<string, unknown>;
}

/** Runs examples/browser/client.ts against the WebSocket side; its `board:` line, parsed. */
async function node(example: Example, ...args: string[]): Promise<Record<string, unknown>> {
  const proc = run('examples/browser/client.ts', [String(example.port), ...args], { env: { MPM_AUTHKEY: KEY } });
  expect(await proc.exit(30_000), proc.describe()).toBe(0);
  const line = proc.stdout.find((l) => l.startsWith('board: '));
  expect(line, proc.describe()).toBeDefined();
  return JSON.parse(line!.slice('board: '.length)) as Record<string, unknown>;
}

async function openBoard(example: Example): Promise<OpenPage> {
  const open = await newPage();
  await open.page.goto(example.pageUrl);
  await waitForState(open, example, 'connected');
  return open;
}

async function waitForState(open: OpenPage, example: Example, state: string): Promise<void> {
  try {
    await open.page.locator(`#state[data-state="${state}"]`).waitFor({ timeout: 20_000 });
  } catch (err) {
    const shown = await open.page.locator('#state').textContent().catch(() => '?');
    throw new Error(`the page did not show '${state}' (it shows '${shown}'): ${(err as Error).message}\n${open.describe()}\nserver ${example.proc.describe()}`);
  }
}

/** `text` as a whole-string pattern. */
const exactly = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

/** Waits until the page's board shows `key` with `value` (it polls the board itself). */
async function waitForRow(open: OpenPage, example: Example, key: string, value: string): Promise<void> {
  const row = open.page.locator('#board tr').filter({ has: open.page.locator('td:first-child', { hasText: exactly(key) }) });
  try {
    await row.locator('td:nth-child(2)', { hasText: exactly(value) }).waitFor({ timeout: 5_000 });
  } catch (err) {
    const board = await open.page.locator('#board').innerText().catch(() => '?');
    throw new Error(`the page's board has no ${key} = ${value} (it shows ${JSON.stringify(board)}): ${(err as Error).message}\n${open.describe()}\nserver ${example.proc.describe()}`);
  }
}

async function submit(open: OpenPage, key: string, value: string): Promise<void> {
  await open.page.fill('input[name="key"]', key);
  await open.page.fill('input[name="value"]', value);
  await open.page.click('button[type="submit"]');
}

describe.skipIf(CHROMIUM_SKIP !== null)(`examples/browser${CHROMIUM_SKIP === null ? '' : ` (${CHROMIUM_SKIP})`}`, () => {
  it.skipIf(py === undefined)('the page, a stock CPython client and the Node client share the board', { timeout: TIMEOUT }, async () => {
    const example = await startExample(await freePortPair());
    const open = await openBoard(example);
    // The key is in the page, never in its URL nor in what the server prints.
    expect(example.pageUrl).not.toContain(KEY);
    expect(example.proc.stdout.join('\n')).not.toContain(KEY);
    expect(await open.page.locator('meta[name="mpm-authkey"]').getAttribute('content')).toBe(KEY);

    // Python sets an entry: the page shows it without reloading.
    expect(await python(example, 'from', 'python')).toEqual({ from: 'python' });
    await waitForRow(open, example, 'from', 'python');

    // The page's form sets one: Python and Node read it.
    await submit(open, 'page', 'browser <b>not bold</b>');
    await waitForRow(open, example, 'page', 'browser <b>not bold</b>');
    expect(await open.page.locator('#board b').count(), 'entries are shown as text, never as HTML').toBe(0);
    expect(await python(example)).toEqual({ from: 'python', page: 'browser <b>not bold</b>' });

    // Node sets one over WebSocket: the page shows it.
    expect(await node(example, 'node', 'ts')).toEqual({ from: 'python', page: 'browser <b>not bold</b>', node: 'ts' });
    await waitForRow(open, example, 'node', 'ts');
    expect(open.log.filter((l) => l.startsWith('pageerror')), open.describe()).toEqual([]);
  });

  it('the page survives a server restart: it reconnects, then sets and reads again', { timeout: TIMEOUT }, async () => {
    const first = await startExample(await freePortPair());
    const open = await openBoard(first);
    await submit(open, 'before', 'restart');
    await waitForRow(open, first, 'before', 'restart');

    first.proc.child.kill('SIGTERM');
    expect(await first.proc.exit(), `SIGTERM stops the example cleanly; ${first.proc.describe()}`).toBe(0);
    await waitForState(open, first, 'reconnecting');

    // The same ports again: the board is new (it lived in the old server's memory).
    const second = await startExample(first.port);
    await waitForState(open, second, 'connected');
    await submit(open, 'after', 'restart');
    await waitForRow(open, second, 'after', 'restart');
    expect(await node(second)).toEqual({ after: 'restart' });
    await node(second, 'node', 'after');
    await waitForRow(open, second, 'node', 'after');
    expect(open.log.filter((l) => l.startsWith('pageerror')), open.describe()).toEqual([]);
  });
});
