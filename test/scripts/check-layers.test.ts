/**
 * scripts/check-layers.mjs: small fixture trees with one kind of import each, checked for exactly the
 * violations expected (kind and file pair), then the repository itself against the layer table.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkLayers, parseImports } from '../../scripts/check-layers.mjs';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const script = join(repoRoot, 'scripts', 'check-layers.mjs');

const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory holding `files` (path relative to it -> contents). */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'check-layers-'));
  temporary.push(root);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  }
  return root;
}

/** The violations of a tree as `kind from -> to`, in the order the checker reports them. */
function violations(root: string): string[] {
  return checkLayers(root).violations.map((v) => `${v.kind} ${v.from} -> ${v.to}`);
}

describe('checkLayers', () => {
  it('reports an import up the stack, but not imports down or within a layer', () => {
    const root = tree({
      'src/errors.ts': 'export class MpmError extends Error {}\n',
      'src/transport/framing.ts': 'export const frame = 1;\n',
      'src/transport/stream.ts': [
        "import { MpmError } from '../errors.js';",
        "import { frame } from './framing.js';",
        "import { serve } from '../server/server.js';",
        'export const all = [MpmError, frame, serve];',
      ].join('\n'),
      'src/server/server.ts': "import { frame } from '../transport/framing.js';\nexport const serve = frame;\n",
    });
    const report = checkLayers(root);
    expect(violations(root)).toEqual(['upward src/transport/stream.ts -> src/server/server.ts']);
    expect(report.violations[0]?.message).toBe('upward: src/transport/stream.ts (transport) -> src/server/server.ts (server)');
  });

  it('forbids server and proxies, which share a rank, to import each other either way', () => {
    const root = tree({
      'proxies/base-proxy.ts': "import { Server } from '../src/server/server.js';\nexport class BaseProxy {}\n",
      'proxies/value-proxy.ts': 'export class ValueProxy {}\n',
      'src/server/server.ts': 'export class Server {}\n',
      'src/server/registry.ts': "import { ValueProxy } from '../../proxies/value-proxy.js';\n",
      // The manager sits above both, so it may import either.
      'src/manager/sync-manager.ts': "import { Server } from '../server/server.js';\nimport { ValueProxy } from '../../proxies/value-proxy.js';\n",
    });
    expect(violations(root)).toEqual([
      'forbidden proxies/base-proxy.ts -> src/server/server.ts',
      'forbidden src/server/registry.ts -> proxies/value-proxy.ts',
    ]);
  });

  it('reports a cycle of three files in one layer with its members and a concrete path', () => {
    const root = tree({
      'src/codec/a.ts': "import { b } from './b.js';\nexport const a = 1;\n",
      'src/codec/b.ts': "import { c } from './c.js';\nexport const b = 2;\n",
      'src/codec/c.ts': "import { a } from './a.js';\nexport const c = 3;\n",
      'src/codec/index.ts': "export { a } from './a.js';\n", // imports into the cycle without being part of it
    });
    const report = checkLayers(root);
    expect(violations(root)).toEqual(['cycle src/codec/a.ts -> src/codec/b.ts']);
    expect(report.violations[0]).toMatchObject({
      cycle: ['src/codec/a.ts', 'src/codec/b.ts', 'src/codec/c.ts', 'src/codec/a.ts'],
      members: ['src/codec/a.ts', 'src/codec/b.ts', 'src/codec/c.ts'],
      message: 'cycle: src/codec/a.ts -> src/codec/b.ts -> src/codec/c.ts -> src/codec/a.ts',
    });
  });

  it('names every file of a tangle when the shortest cycle is only part of it, and a file importing itself', () => {
    const root = tree({
      'src/codec/a.ts': "import './b.js';\n",
      'src/codec/b.ts': "import './a.js';\nimport './c.js';\n",
      'src/codec/c.ts': "import './a.js';\n",
      'src/server/self.ts': "import './self.js';\n",
    });
    expect(checkLayers(root).violations.map((v) => v.message)).toEqual([
      'cycle: src/codec/a.ts -> src/codec/b.ts -> src/codec/a.ts (3 files in the cycle: src/codec/a.ts, src/codec/b.ts, src/codec/c.ts)',
      'cycle: src/server/self.ts -> src/server/self.ts',
    ]);
  });

  it('ignores commented-out imports, and is not thrown by // or /* inside strings and regexes', () => {
    const server = ['commented', 'block', 'jsdoc', 'string', 'template', 'real', 'after-regex', 'after-url'];
    const root = tree({
      ...Object.fromEntries(server.map((name) => [`src/server/${name}.ts`, 'export const x = 1;\n'])),
      'src/transport/address.ts': [
        "// import { x } from '../server/commented.js';",
        "/* import '../server/block.js'; */",
        '/**',
        " * import { x } from '../server/jsdoc.js'",
        ' */',
        "import { x } from '../server/real.js';",
        "const text = \"import { x } from '../server/string.js'\";",
        "const code = `import '../server/template.js'`;",
        // A naive stripper takes the `//` in these for a comment and loses the rest of the line.
        "const isWs = /^wss?:\\/\\//; import { x as y } from '../server/after-regex.js';",
        "const url = 'ws://host/*'; import { x as z } from '../server/after-url.js'; // */",
        'export const all = [x, y, z, text, code, isWs, url];',
      ].join('\n'),
    });
    expect(violations(root)).toEqual([
      'upward src/transport/address.ts -> src/server/after-regex.ts',
      'upward src/transport/address.ts -> src/server/after-url.ts',
      'upward src/transport/address.ts -> src/server/real.ts',
    ]);
  });

  it('counts a type-only import like any other', () => {
    const root = tree({
      'src/protocol/ref.ts': 'export class ObjectRef {}\n',
      'src/codec/types.ts': "import type { ObjectRef } from '../protocol/ref.js';\nexport type Holder = { ref: ObjectRef };\n",
    });
    const report = checkLayers(root);
    expect(violations(root)).toEqual(['upward src/codec/types.ts -> src/protocol/ref.ts']);
    expect(report.imports).toEqual([
      { from: 'src/codec/types.ts', specifier: '../protocol/ref.js', to: 'src/protocol/ref.ts', external: false, builtin: false, kind: 'import', typeOnly: true, line: 1 },
    ]);
  });

  it('follows a dynamic import of a string literal, and leaves computed ones and import.meta alone', () => {
    const root = tree({
      'src/manager/base-manager.ts': 'export class BaseManager {}\n',
      'src/server/server.ts': 'export class Server {}\n',
      'src/connection/listener.ts': [
        'export async function load(name: string) {',
        "  const { BaseManager } = await import('../manager/base-manager.js');",
        '  const server = await import(`../server/${name}.js`);',
        '  return [BaseManager, server, import.meta.url];',
        '}',
      ].join('\n'),
    });
    expect(violations(root)).toEqual(['upward src/connection/listener.ts -> src/manager/base-manager.ts']);
    expect(checkLayers(root).imports.map((i) => [i.kind, i.specifier, i.line])).toEqual([['dynamic', '../manager/base-manager.js', 2]]);
  });

  it('reads an import list that spans several lines', () => {
    const root = tree({
      'src/inspector/inspector.ts': 'export class Inspector {}\nexport type InspectorOptions = {};\n',
      'src/manager/sync-manager.ts': [
        "import { randomBytes } from 'node:crypto';",
        'import {',
        '  Inspector,',
        '  type InspectorOptions,',
        "} from '../inspector/inspector.js';",
      ].join('\n'),
    });
    expect(violations(root)).toEqual(['upward src/manager/sync-manager.ts -> src/inspector/inspector.ts']);
    expect(checkLayers(root).imports.map((i) => [i.specifier, i.line])).toEqual([
      ['node:crypto', 1],
      ['../inspector/inspector.js', 2],
    ]);
  });

  it('follows export * from, export * as, export { } from and side-effect imports', () => {
    const root = tree({
      'src/protocol/native.ts': 'export const native = 1;\n',
      'src/server/server.ts': 'export class Server {}\n',
      'src/server/context.ts': 'export const context = 1;\n',
      'src/manager/setup.ts': 'globalThis.toString();\n',
      'src/protocol/index.ts': [
        "export * as native from './native.js';",
        "export * from '../server/server.js';",
        "export { context } from '../server/context.js';",
        "import '../manager/setup.js';",
      ].join('\n'),
    });
    expect(violations(root)).toEqual([
      'upward src/protocol/index.ts -> src/manager/setup.ts',
      'upward src/protocol/index.ts -> src/server/context.ts',
      'upward src/protocol/index.ts -> src/server/server.ts',
    ]);
    expect(checkLayers(root).imports.map((i) => i.kind)).toEqual(['export', 'export', 'export', 'side-effect']);
  });

  it('passes a clean tree, resolves index.js and records packages and Node built-ins', () => {
    const root = tree({
      'src/errors.ts': 'export class MpmError extends Error {}\n',
      'src/errors/python.ts': "import { MpmError } from '../errors.js';\nexport class PythonError extends MpmError {}\n",
      'src/transport/index.ts': "import net from 'node:net';\nimport { MpmError } from '../errors.js';\nexport const t = [net, MpmError];\n",
      'src/codec/index.ts': "import { Packr } from 'msgpackr';\nimport { t } from '../transport/index.js';\nexport const c = [Packr, t];\n",
      'src/channel/channel.ts': "import { c } from '../codec/index.js';\nexport const ch = c;\n",
      'src/connection/connection.ts': "import { EventEmitter } from 'events';\nimport { ch } from '../channel/channel.js';\nexport const conn = [EventEmitter, ch];\n",
      'src/protocol/client.ts': "import type { conn } from '../connection/connection.js';\nexport type Client = typeof conn;\n",
      'src/server/server.ts': "import type { Client } from '../protocol/client.js';\nexport type Server = Client;\n",
      'src/backends/memory.ts': "import type { Server } from '../server/server.js';\nexport type Backend = Server;\n",
      'proxies/base-proxy.ts': "import type { Client } from '../src/protocol/client.js';\nexport type Proxy = Client;\n",
      'src/manager/base-manager.ts': "import type { Server } from '../server/server.js';\nimport type { Proxy } from '../../proxies/base-proxy.js';\nexport type Manager = [Server, Proxy];\n",
      'src/inspector/inspector.ts': "import type { Manager } from '../manager/base-manager.js';\nexport type Inspector = Manager;\n",
      'src/index.ts': "export * from './codec/index.js';\nexport type { Inspector } from './inspector/inspector.js';\nexport * from '../proxies/base-proxy.js';\n",
      'src/cli.ts': "import { parseArgs } from 'node:util';\nimport './index.js';\nexport const cli = parseArgs;\n",
      // Declarations are not checked, whatever they import.
      'src/transport/globals.d.ts': "import type { Manager } from '../manager/base-manager.js';\n",
      'README.md': "import '../src/cli.js';\n",
    });
    const report = checkLayers(root);
    expect(report.violations).toEqual([]);
    expect(report.files.map((f) => `${f.path} ${f.layer} ${f.rank}`)).toEqual([
      'proxies/base-proxy.ts proxies 6',
      'src/backends/memory.ts server 6',
      'src/channel/channel.ts channel 3',
      'src/cli.ts cli 9',
      'src/codec/index.ts codec 2',
      'src/connection/connection.ts connection 4',
      'src/errors.ts errors 0',
      'src/errors/python.ts errors 0',
      'src/index.ts cli 9',
      'src/inspector/inspector.ts inspector 8',
      'src/manager/base-manager.ts manager 7',
      'src/protocol/client.ts protocol 5',
      'src/server/server.ts server 6',
      'src/transport/index.ts transport 1',
    ]);
    expect(report.imports.filter((i) => i.external).map((i) => [i.from, i.specifier, i.builtin])).toEqual([
      ['src/cli.ts', 'node:util', true],
      ['src/codec/index.ts', 'msgpackr', false],
      ['src/connection/connection.ts', 'events', true],
      ['src/transport/index.ts', 'node:net', true],
    ]);
    expect(report.imports.find((i) => i.specifier === './codec/index.js')?.to).toBe('src/codec/index.ts');
  });

  it('reports a file in a folder the layer table does not know', () => {
    const root = tree({
      'src/errors.ts': 'export class MpmError extends Error {}\n',
      'src/util/bytes.ts': "import { MpmError } from '../errors.js';\n",
    });
    expect(violations(root)).toEqual(['unlayered src/util/bytes.ts -> null']);
  });
});

describe('parseImports', () => {
  it('tells type-only statements from inline type specifiers and from a default import named type', () => {
    const src = [
      "import type { A } from './a.js';",
      "import { type B } from './b.js';", // still loads ./b.js under verbatimModuleSyntax
      "import type from './c.js';",
      "export type * from './d.js';",
    ].join('\n');
    expect(parseImports(src).map((i) => [i.specifier, i.typeOnly])).toEqual([
      ['./a.js', true],
      ['./b.js', false],
      ['./c.js', false],
      ['./d.js', true],
    ]);
  });
});

describe('node scripts/check-layers.mjs', () => {
  const upward = {
    'src/server/server.ts': 'export class Server {}\n',
    'src/codec/index.ts': "import { Server } from '../server/server.js';\n",
  };

  it('prints each violation and a summary, and exits 1', () => {
    const run = spawnSync(process.execPath, [script, tree(upward)], { encoding: 'utf8' });
    expect(run.stdout.trim().split('\n')).toEqual([
      'upward: src/codec/index.ts (codec) -> src/server/server.ts (server)',
      'layers: 2 files, 1 imports (0 external), 1 violations (1 upward)',
    ]);
    expect(run.status).toBe(1);
  });

  it('exits 0 on a clean tree, also when run through a symlink', () => {
    const link = join(tree({}), 'check-layers.mjs');
    symlinkSync(script, link);
    const run = spawnSync(process.execPath, [link, tree({ 'src/server/server.ts': "import '../errors.js';\n", 'src/errors.ts': '' })], { encoding: 'utf8' });
    expect(run.stdout).toBe('layers: 2 files, 1 imports (0 external), no violations\n');
    expect(run.status).toBe(0);
  });
});

describe('the repository', () => {
  it("the repository's own src/ and proxies/ obey the layer table", () => {
    expect(checkLayers(repoRoot).violations.map((v) => v.message)).toEqual([]);
  });
});
