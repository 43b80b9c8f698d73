/**
 * Builds the browser bundle: src/browser.ts and everything it imports (msgpackr, tweetnacl,
 * @noble/hashes included) as one minified ES module, dist/browser/mpmanager.js, for
 * `<script type="module">` without a bundler and for bundlers through the `browser` condition.
 *
 *   node scripts/build-browser.mjs      (npm run build runs it; prints the size, raw and gzipped)
 *
 * `platform: 'browser'` makes any Node built-in in the import graph a build error, which is how the tests
 * (test/browser/bundle.test.ts) prove the entry has none.
 */
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE_PATH = path.join(root, 'dist', 'browser', 'mpmanager.js');

/**
 * Bundles the browser entry. Returns the code, its size raw and gzipped, and esbuild's metafile (which
 * lists every input file); writes `outfile` when given.
 */
export async function buildBrowserBundle({ outfile, minify = true } = {}) {
  const result = await build({
    entryPoints: [path.join(root, 'src', 'browser.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify,
    write: false,
    metafile: true,
    legalComments: 'none',
    // Error classes keep their names (err.name is how a page tells AuthenticationError from the rest).
    keepNames: true,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].text;
  if (outfile) {
    mkdirSync(path.dirname(outfile), { recursive: true });
    writeFileSync(outfile, code);
  }
  return { code, bytes: Buffer.byteLength(code), gzipBytes: gzipSync(code, { level: 9 }).length, metafile: result.metafile };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { bytes, gzipBytes } = await buildBrowserBundle({ outfile: BUNDLE_PATH });
  // stderr: `npm pack --json` (prepack builds) keeps stdout for its JSON.
  console.error(`${path.relative(root, BUNDLE_PATH)}: ${(bytes / 1024).toFixed(1)} KiB minified, ${(gzipBytes / 1024).toFixed(1)} KiB gzipped`);
}
