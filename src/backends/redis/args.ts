/**
 * Arguments as the shared objects take them: a proxy passed as an argument (a hosted object of this
 * server, in memory or shared) stands for its value, as CPython hands the referent itself. A shared
 * object's value is read from Redis, so this is asynchronous, unlike the in-memory `unwrap`.
 */
import { HostedRef } from '../../server/hosted-ref.js';
import { getValue } from '../../server/dispatch.js';
import { iterate } from '../../server/py.js';

/** The value an argument stands for. */
export async function argValue(v: unknown): Promise<unknown> {
  return v instanceof HostedRef ? await getValue(v.referent) : v;
}

/** The items of an iterable argument (Python's `list(x)`). */
export async function argItems(v: unknown, what?: string): Promise<unknown[]> {
  return iterate(await argValue(v), what);
}
