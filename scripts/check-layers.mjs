/**
 * Import layering check for src/ and proxies/.
 *
 *   node scripts/check-layers.mjs [rootDir]     (rootDir defaults to the repository this script is in)
 *
 * Every `.ts` file (not `.d.ts`) under src/ and proxies/ gets a layer from the LAYERS table below, and
 * its relative imports must obey three rules:
 *   upward     a file imports only files of its own layer or of a lower rank;
 *   forbidden  layers that share a rank (server and proxies) never import each other;
 *   cycle      no import cycles at all, type-only imports included.
 * A file that no row of LAYERS matches is reported as `unlayered`, so a new folder cannot slip past the
 * rules unnoticed: add it to the table.
 *
 * Prints one line per violation and a summary, and exits 1 if there was any. Tests call checkLayers().
 * Type-only imports count like any other: a type that points up the stack is still a dependency on the
 * layer above. Non-relative imports (node:*, packages) are not checked, only recorded in `imports`, so
 * a later rule can, say, keep Node built-ins out of browser code.
 */
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The layer table, bottom up: [layer, rank, patterns]. Patterns are paths relative to the repository
 * root, `dir/**` meaning everything under dir and `*` any name within one folder. The first row that
 * matches a file wins, so the catch-all for top-level src/ files comes last.
 *
 *   layer       rank  files
 *   errors        0   src/errors.ts, src/python-errors.ts, src/python-repr.ts, src/limits.ts, src/errors/**,
 *                     and the runtime-neutral helpers src/bytes.ts, src/debug.ts, src/events.ts
 *   transport     1   src/transport/**
 *   codec         2   src/codec/**
 *   channel       3   src/channel/**
 *   connection    4   src/connection/**
 *   protocol      5   src/protocol/**
 *   server        6   src/server/**, src/backends/**
 *   proxies       6   proxies/**            (same rank as server, but neither may import the other)
 *   manager       7   src/manager/**
 *   inspector     8   src/inspector/**
 *   cli           9   src/cli.ts, src/index.ts, src/browser.ts and any other file directly in src/
 */
export const LAYERS = [
  ['errors', 0, ['src/errors.ts', 'src/python-errors.ts', 'src/python-repr.ts', 'src/limits.ts', 'src/errors/**', 'src/bytes.ts', 'src/debug.ts', 'src/events.ts']],
  ['transport', 1, ['src/transport/**']],
  ['codec', 2, ['src/codec/**']],
  ['channel', 3, ['src/channel/**']],
  ['connection', 4, ['src/connection/**']],
  ['protocol', 5, ['src/protocol/**']],
  ['server', 6, ['src/server/**', 'src/backends/**']],
  ['proxies', 6, ['proxies/**']],
  ['manager', 7, ['src/manager/**']],
  ['inspector', 8, ['src/inspector/**']],
  ['cli', 9, ['src/cli.ts', 'src/index.ts', 'src/browser.ts', 'src/*.ts']],
];

/** The folders that are walked, relative to the root. */
const ROOTS = ['src', 'proxies'];

const LAYER_MATCHERS = LAYERS.map(([layer, rank, patterns]) => ({ layer, rank, regexes: patterns.map(globToRegex) }));

function globToRegex(pattern) {
  const body = pattern
    .split(/(\*\*|\*)/)
    .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}

/** The layer of a root-relative posix path, or undefined if no row of LAYERS matches it. */
export function layerOf(file) {
  const hit = LAYER_MATCHERS.find(({ regexes }) => regexes.some((re) => re.test(file)));
  return hit && { layer: hit.layer, rank: hit.rank };
}

// ---------------------------------------------------------------------------------------------------
// Reading imports. Regexes over raw source would see imports inside comments and strings, and a naive
// comment stripper cuts `'ws://host'` or `/^wss?:\/\//` in half, so a small scanner first blanks out
// comments and the contents of strings, templates and regex literals. It keeps every offset (and every
// newline), so a match in the blanked text is read back from the original at the same place.

// After these, a `/` starts a regex literal; after anything else (a name, a number, `)` or `]`) it divides.
const REGEX_AFTER_WORD = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);
// `}` counts as ending a block (a statement may follow) rather than an object literal being divided.
const REGEX_AFTER_PUNCT = new Set('(,=:[!&|?{};+-*%<>~^}'.split(''));

/** The source with comments, and the insides of strings, templates and regexes, turned into spaces. */
export function maskSource(src) {
  const out = src.split('');
  const blank = (from, to) => {
    for (let k = from; k < to; k++) if (out[k] !== '\n' && out[k] !== '\r') out[k] = ' ';
  };
  // One counter per template literal whose `${` we are inside: the depth of `{` opened in that expression.
  const templates = [];
  let prev = ''; // the last token of code: a punctuation character, a word, or '' at the start
  let i = 0;

  /** Scans template text from `start` (just after '`' or a closing '}') up to '`' or '${'. */
  const templateText = (start) => {
    let k = start;
    while (k < src.length) {
      if (src[k] === '\\') k += 2;
      else if (src[k] === '`') {
        blank(start, k);
        prev = 'value';
        return k + 1;
      } else if (src[k] === '$' && src[k + 1] === '{') {
        blank(start, k);
        templates.push(0);
        prev = '{';
        return k + 2;
      } else k++;
    }
    blank(start, src.length);
    return src.length;
  };

  if (src.startsWith('#!')) {
    i = src.indexOf('\n') < 0 ? src.length : src.indexOf('\n');
    blank(0, i);
  }
  while (i < src.length) {
    const c = src[i];
    const next = src[i + 1];
    if (c === '/' && next === '/') {
      const end = src.indexOf('\n', i);
      const stop = end < 0 ? src.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? src.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === "'" || c === '"') {
      let k = i + 1;
      while (k < src.length && src[k] !== c && src[k] !== '\n') k += src[k] === '\\' ? 2 : 1;
      blank(i + 1, k);
      i = k + 1;
      prev = 'value';
    } else if (c === '`') {
      i = templateText(i + 1);
    } else if (c === '/' && (prev === '' || REGEX_AFTER_PUNCT.has(prev) || REGEX_AFTER_WORD.has(prev))) {
      const end = regexEnd(src, i);
      if (end < 0) {
        // Not a regex after all (no closing `/` on the line): treat it as a division.
        prev = '/';
        i++;
      } else {
        blank(i + 1, end - 1);
        i = end;
        while (i < src.length && /[\w$]/.test(src[i])) i++; // flags
        prev = 'value';
      }
    } else if (/[\w$]/.test(c)) {
      let k = i + 1;
      while (k < src.length && /[\w$]/.test(src[k])) k++;
      prev = src.slice(i, k);
      i = k;
    } else if (/\s/.test(c)) {
      i++;
    } else {
      if (templates.length > 0 && c === '{') templates[templates.length - 1]++;
      if (templates.length > 0 && c === '}') {
        if (templates[templates.length - 1] === 0) {
          templates.pop();
          i = templateText(i + 1);
          continue;
        }
        templates[templates.length - 1]--;
      }
      prev = c;
      i++;
    }
  }
  return out.join('');
}

/** The offset just past the closing `/` of a regex literal starting at `start`, or -1 if there is none on the line. */
function regexEnd(src, start) {
  let inClass = false;
  for (let k = start + 1; k < src.length; k++) {
    const c = src[k];
    if (c === '\n') return -1;
    if (c === '\\') k++;
    else if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (c === '/' && !inClass) return k + 1;
  }
  return -1;
}

// The regexes run on masked source, where a string literal is its quotes around blanks. `(?<![\w$.])`
// keeps `x.import(` and `reimport` out; the clause between `import`/`export` and `from` may hold only
// names, braces, commas, `*` and whitespace, and not another import/export statement, so an
// `export const ...` line cannot run on into the next statement's `from`.
const CLAUSE = String.raw`((?:(?!\b(?:import|export)\b)[\s\w$,{}*])*?)`;
const FROM_RE = new RegExp(String.raw`(?<![\w$.])(import|export)\b${CLAUSE}\bfrom\s*(['"])[^'"\n]*\3`, 'dg');
const SIDE_EFFECT_RE = /(?<![\w$.])import\s*(['"])[^'"\n]*\1/dg;
const DYNAMIC_RE = /(?<![\w$.])import\s*\(\s*(['"`])[^'"`]*\1\s*[,)]/dg;

/**
 * The module specifiers a source file imports, in source order: { specifier, kind, typeOnly, line }.
 * kind is 'import', 'export' (re-export), 'side-effect' or 'dynamic' (`import('...')` with a literal,
 * which also covers TypeScript's `import('...').Type` in type positions).
 */
export function parseImports(src) {
  const masked = maskSource(src);
  const found = [];
  const lineAt = (offset) => src.slice(0, offset).split('\n').length;
  /** The original text between the quotes whose opening quote is at `open`. */
  const literal = (open) => {
    const close = masked.indexOf(masked[open], open + 1);
    return src.slice(open + 1, close);
  };
  for (const m of masked.matchAll(FROM_RE)) {
    const clause = m[2].trim();
    // `import type from './x.js'` is a default import named "type", hence the look at what follows it.
    const typeOnly = /^type(\s*[{*]|\s+[\w$])/.test(clause);
    found.push({ offset: m.index, specifier: literal(m.indices[3][0]), kind: m[1], typeOnly });
  }
  for (const m of masked.matchAll(SIDE_EFFECT_RE)) {
    found.push({ offset: m.index, specifier: literal(m.indices[1][0]), kind: 'side-effect', typeOnly: false });
  }
  for (const m of masked.matchAll(DYNAMIC_RE)) {
    const specifier = literal(m.indices[1][0]);
    if (m[1] === '`' && specifier.includes('${')) continue; // computed at run time: nothing to check
    found.push({ offset: m.index, specifier, kind: 'dynamic', typeOnly: false });
  }
  return found
    .sort((a, b) => a.offset - b.offset)
    .map(({ offset, ...rest }) => ({ ...rest, line: lineAt(offset) }));
}

// ---------------------------------------------------------------------------------------------------
// Files and resolution.

function walk(rootDir, dir, files) {
  const abs = path.join(rootDir, dir);
  if (!existsSync(abs)) return files;
  for (const entry of readdirSync(abs, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) walk(rootDir, rel, files);
    else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(rel);
  }
  return files;
}

const BUILTINS = new Set(builtinModules);

/**
 * Where a relative specifier from `from` points, as a root-relative posix path: the `.ts` source of a
 * `.js` specifier (so `./x/index.js` is `./x/index.ts`), or for an extensionless one `x.ts` or
 * `x/index.ts`. Returns null if no such file exists.
 */
function resolveRelative(rootDir, fileSet, from, specifier) {
  const target = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  const candidates = /\.[cm]?js$/.test(target)
    ? [target.replace(/\.(c|m)?js$/, '.$1ts'), target]
    : /\.[cm]?ts$|\.json$/.test(target)
      ? [target]
      : [`${target}.ts`, `${target}/index.ts`];
  return candidates.find((c) => fileSet.has(c) || existsSync(path.join(rootDir, c))) ?? null;
}

// ---------------------------------------------------------------------------------------------------
// The check.

/**
 * Checks the layering of `rootDir`/src and `rootDir`/proxies. Paths in the result are relative to
 * rootDir, with forward slashes, and sorted.
 */
export function checkLayers(rootDir) {
  const paths = ROOTS.flatMap((dir) => walk(rootDir, dir, [])).sort();
  const fileSet = new Set(paths);
  const files = paths.map((p) => ({ path: p, ...(layerOf(p) ?? { layer: null, rank: null }) }));
  const byPath = new Map(files.map((f) => [f.path, f]));

  const imports = [];
  for (const from of paths) {
    for (const found of parseImports(readFileSync(path.join(rootDir, from), 'utf8'))) {
      const relative = found.specifier.startsWith('./') || found.specifier.startsWith('../') || found.specifier === '.' || found.specifier === '..';
      const bare = found.specifier.startsWith('node:') ? found.specifier.slice(5) : found.specifier;
      imports.push({
        from,
        specifier: found.specifier,
        to: relative ? resolveRelative(rootDir, fileSet, from, found.specifier) : null,
        external: !relative,
        builtin: !relative && (found.specifier.startsWith('node:') || BUILTINS.has(bare.split('/')[0])),
        kind: found.kind,
        typeOnly: found.typeOnly,
        line: found.line,
      });
    }
  }

  // The graph between checked files, one edge per (from, to) however many statements make it.
  const edges = new Map(paths.map((p) => [p, new Set()]));
  for (const imp of imports) if (imp.to && fileSet.has(imp.to)) edges.get(imp.from).add(imp.to);

  const violations = [];
  for (const file of files) {
    if (file.layer === null) {
      violations.push({ kind: 'unlayered', from: file.path, to: null, message: `unlayered: ${file.path} (no row of LAYERS in scripts/check-layers.mjs matches it)` });
    }
  }
  for (const [from, targets] of edges) {
    const a = byPath.get(from);
    for (const to of [...targets].sort()) {
      const b = byPath.get(to);
      if (a.layer === null || b.layer === null || a.layer === b.layer) continue;
      const kind = b.rank > a.rank ? 'upward' : b.rank === a.rank ? 'forbidden' : null;
      if (kind) violations.push({ kind, from, to, message: `${kind}: ${from} (${a.layer}) -> ${to} (${b.layer})` });
    }
  }
  for (const members of stronglyConnected(edges)) {
    const cycle = shortestCycle(members, edges);
    if (!cycle) continue; // a lone file that does not import itself
    const extra = members.length > cycle.length - 1 ? ` (${members.length} files in the cycle: ${members.join(', ')})` : '';
    violations.push({ kind: 'cycle', from: cycle[0], to: cycle[1], cycle, members, message: `cycle: ${cycle.join(' -> ')}${extra}` });
  }
  return { files, imports, violations };
}

/** Tarjan's strongly connected components, each as a sorted list of its files, in a stable order. */
function stronglyConnected(edges) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const components = [];
  const visit = (v) => {
    index.set(v, index.size);
    low.set(v, index.get(v));
    stack.push(v);
    onStack.add(v);
    for (const w of [...edges.get(v)].sort()) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v), index.get(w)));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      components.push(component.sort());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return components.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/**
 * One concrete cycle through a component's first file, found breadth first so it is a shortest one:
 * [a, b, c, a]. Null for a single file that does not import itself.
 */
function shortestCycle(members, edges) {
  const inside = new Set(members);
  const start = members[0];
  const cameFrom = new Map();
  const queue = [start];
  for (let q = 0; q < queue.length; q++) {
    const v = queue[q];
    for (const w of [...edges.get(v)].sort()) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const cycle = [start];
        for (let u = v; u !== start; u = cameFrom.get(u)) cycle.splice(1, 0, u);
        return [...cycle, start];
      }
      if (!cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------
// Command line: only when run as a script, not when a test imports this module.

function isMain() {
  if (!process.argv[1]) return false;
  try {
    // Node runs a symlinked script from its real path, so compare real paths.
    return import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  const rootDir = path.resolve(process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url)));
  const { files, imports, violations } = checkLayers(rootDir);
  // A relative import of a missing file is tsc's to report, but say so: it is an edge we could not check.
  for (const imp of imports) {
    if (!imp.external && imp.to === null) console.error(`warning: ${imp.from}:${imp.line} imports '${imp.specifier}', which does not exist`);
  }
  for (const v of violations) console.log(v.message);
  const internal = imports.filter((imp) => !imp.external).length;
  const counts = `${files.length} files, ${internal} imports (${imports.length - internal} external)`;
  if (violations.length > 0) {
    const perKind = new Map();
    for (const v of violations) perKind.set(v.kind, (perKind.get(v.kind) ?? 0) + 1);
    const kinds = [...perKind].map(([kind, n]) => `${n} ${kind}`);
    console.log(`layers: ${counts}, ${violations.length} violations (${kinds.join(', ')})`);
    process.exitCode = 1;
  } else {
    console.log(`layers: ${counts}, no violations`);
  }
}
