/**
 * The browser bundle as a page loads it, without a browser: one ES module that imports nothing (a
 * `<script type="module">` gets no import map), within its size budget. What goes into it (no Node built-in, no Node global) and how package.json points at it are
 * test/bundle/browser-entry.test.ts's.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module script, no declarations
import { buildBrowserBundle } from '../../scripts/build-browser.mjs';

interface Built {
  code: string;
  bytes: number;
  gzipBytes: number;
  metafile: { outputs: Record<string, { imports: Array<{ path: string; kind: string }> }> };
}

/**
 * The size budget, minified and gzipped: what the bundle is today (65 KiB) with a little room, so that a
 * dependency pulled in by mistake (the pickle codec, a Node shim) fails here. The target is 40 KB;
 * it is not met, and docs/architecture.md ("The browser client") says what would meet it.
 */
const MAX_GZIP_BYTES = 70 * 1024;

describe('the browser bundle', () => {
  let built: Built;

  it('is one ES module that imports nothing', { timeout: 60_000 }, async () => {
    built = (await buildBrowserBundle({ minify: true })) as Built;
    for (const [name, output] of Object.entries(built.metafile.outputs)) expect(output.imports, name).toEqual([]);
    expect(built.code).not.toMatch(/\bimport\s*\(|\bimport\s*[\w{*][^;]*\bfrom\s*["']/);
    expect(built.code).toMatch(/\bexport\s*\{/);
  });

  it(`stays within its budget of ${MAX_GZIP_BYTES / 1024} KiB minified and gzipped`, () => {
    expect(built, 'the build failed (see the first test)').toBeDefined();
    const size = `${(built.bytes / 1024).toFixed(1)} KiB minified, ${(built.gzipBytes / 1024).toFixed(1)} KiB gzipped`;
    expect(built.gzipBytes, size).toBeLessThanOrEqual(MAX_GZIP_BYTES);
  });
});
