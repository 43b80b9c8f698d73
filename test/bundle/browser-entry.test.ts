/**
 * The browser entry (src/browser.ts) is bundled for the browser as `npm run build` bundles it: esbuild with
 * `platform: 'browser'` cannot resolve a Node built-in, so the build itself fails on any in the import
 * graph; and the project's own files in the bundle must not use Node's globals at run time either.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module script, no declarations
import { buildBrowserBundle } from '../../scripts/build-browser.mjs';

interface Bundle {
  code: string;
  bytes: number;
  gzipBytes: number;
  metafile: { inputs: Record<string, { imports: { path: string }[] }> };
}

/** Node's globals used as values (a type annotation such as `as Buffer` is erased and does not count). */
const NODE_GLOBAL_USE = /\b(?:Buffer\.(?:from|alloc|allocUnsafe|concat|isBuffer|byteLength)|process\.(?:env|pid|on|exit|nextTick|memoryUsage)|setImmediate\(|require\()/;

/** The source without comments and single-quoted strings (so prose and advice that name Buffer do not count). */
function code(file: string): string {
  return readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1')
    .replace(/'(?:[^'\\\n]|\\.)*'/g, "''");
}

describe('the browser entry', () => {
  let bundle: Bundle;

  it('bundles for the browser with no Node built-in in its import graph', { timeout: 60_000 }, async () => {
    bundle = (await buildBrowserBundle()) as Bundle;
    const inputs = Object.keys(bundle.metafile.inputs);
    expect(inputs).toContain('src/browser.ts');
    const imports = Object.values(bundle.metafile.inputs).flatMap((i) => i.imports.map((x) => x.path));
    expect(imports.filter((p) => p.startsWith('node:'))).toEqual([]);
    // Node-only packages and modules stay out: ws, the pickle codec, the server, node:crypto's provider.
    expect(inputs.filter((f) => /node_modules\/ws\/|src\/codec\/pickle\/|src\/server\/server|src\/transport\/(stream|tls|websocket)\.ts|node-crypto|node-runtime|redis/.test(f))).toEqual([]);
    expect(bundle.code).toMatch(/export\s*\{/);
  });

  it('runs none of Node\'s globals in the project\'s own files it bundles', () => {
    const own = Object.keys(bundle.metafile.inputs).filter((f) => f.startsWith('src/') || f.startsWith('proxies/'));
    expect(own.length).toBeGreaterThan(20);
    const offenders = own.filter((f) => NODE_GLOBAL_USE.test(code(f)));
    expect(offenders).toEqual([]);
  });

  it('is what package.json gives browsers: the browser condition and mpmanager/browser', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, Record<string, string>>; files: string[] };
    const root = pkg.exports['.'] as Record<string, string>;
    expect(Object.keys(root)).toEqual(['types', 'browser', 'import', 'default']);
    expect(root.browser).toBe('./dist/browser/mpmanager.js');
    expect(pkg.exports['./browser']).toEqual({ types: './dist/src/browser.d.ts', default: './dist/browser/mpmanager.js' });
    expect(pkg.files).toContain('dist/browser/');
  });
});
