/** Types for scripts/check-layers.mjs, written by hand so TypeScript tests can import it. */

/** A checked file: its path relative to the root (forward slashes) and its layer, or null if LAYERS has no row for it. */
export interface LayeredFile {
  path: string;
  layer: string | null;
  rank: number | null;
}

/** One import statement, static or dynamic, relative or not. */
export interface ImportRecord {
  /** The importing file, relative to the root. */
  from: string;
  /** The module specifier as written. */
  specifier: string;
  /** The file a relative specifier resolves to, relative to the root; null for external or missing modules. */
  to: string | null;
  /** True for a non-relative specifier: a package or a Node built-in. */
  external: boolean;
  /** True for a Node built-in, with or without `node:`. */
  builtin: boolean;
  kind: 'import' | 'export' | 'side-effect' | 'dynamic';
  /** `import type ...` or `export type ...` (not `import { type X }`, which still loads the module). */
  typeOnly: boolean;
  /** 1-based line of the statement. */
  line: number;
}

export interface Violation {
  kind: 'upward' | 'forbidden' | 'cycle' | 'unlayered';
  from: string;
  /** The imported file; for a cycle the next file on `cycle`; null for `unlayered`. */
  to: string | null;
  /** The line the command prints, such as `upward: src/a.ts (transport) -> src/server/b.ts (server)`. */
  message: string;
  /** For a cycle: one concrete cycle, starting and ending with the same file. */
  cycle?: string[];
  /** For a cycle: every file of the strongly connected component, sorted. */
  members?: string[];
}

export interface LayerReport {
  files: LayeredFile[];
  imports: ImportRecord[];
  violations: Violation[];
}

/** The layer table: [layer, rank, path patterns], bottom up. */
export const LAYERS: ReadonlyArray<readonly [layer: string, rank: number, patterns: readonly string[]]>;

export function checkLayers(rootDir: string): LayerReport;
export function layerOf(file: string): { layer: string; rank: number } | undefined;
export function parseImports(src: string): Array<Pick<ImportRecord, 'specifier' | 'kind' | 'typeOnly' | 'line'>>;
export function maskSource(src: string): string;
