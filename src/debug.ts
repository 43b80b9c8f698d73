/**
 * `NODE_DEBUG=mpmanager` tracing for code Node and browsers share: Node's `util.debuglog` where there is a
 * `process` (read through `globalThis`, never imported), and in a browser `globalThis.MPM_DEBUG = true`.
 */

export interface DebugLog {
  (format: string, ...args: unknown[]): void;
  readonly enabled: boolean;
}

function enabled(section: string): boolean {
  const g = globalThis as { process?: { env?: Record<string, string | undefined> }; MPM_DEBUG?: unknown };
  if (g.MPM_DEBUG === true) return true;
  const flags = g.process?.env?.NODE_DEBUG ?? '';
  return flags.split(/[\s,]+/).some((flag) => flag.toLowerCase() === section);
}

/** A logger that writes `SECTION PID: message` to stderr (the console in a browser) when the section is on. */
export function debuglog(section: string): DebugLog {
  const on = enabled(section);
  const pid = (globalThis as { process?: { pid?: number } }).process?.pid ?? 0;
  const log = (format: string, ...args: unknown[]) => {
    if (!on) return;
    let i = 0;
    const text = format.replace(/%[sdjo%]/g, (m) => (m === '%%' ? '%' : i < args.length ? String(args[i++]) : m));
    console.error(`${section.toUpperCase()} ${pid}: ${text}`);
  };
  return Object.assign(log, { enabled: on });
}
