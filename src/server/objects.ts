/**
 * The object table: every hosted object with its exposed names, `methodToTypeid` map and refcount.
 * A reference is held by a connection (native: released when the connection closes, however it closes),
 * by a CPython client through incref/decref (classic: stock clients give no other signal), or by a value
 * inside another hosted object. An object is dropped when its count reaches zero.
 */
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, UnknownObjectError } from '../errors.js';

/** One Set per exposed list: objects of one typeid share it (a dict exposes ~20 names). */
const exposedSets = new WeakMap<readonly string[], ReadonlySet<string>>();
function exposedSet(list: readonly string[]): ReadonlySet<string> {
  let set = exposedSets.get(list);
  if (!set) {
    set = new Set(list);
    exposedSets.set(list, set);
  }
  return set;
}

export class HostedObject {
  readonly id: string;
  readonly typeid: string;
  readonly referent: unknown;
  readonly exposed: ReadonlySet<string>;
  /** The exposed names in their registered order (what `create` and `get_methods` return). */
  readonly exposedList: readonly string[];
  readonly methodToTypeid: Readonly<Record<string, string>>;
  refcount = 0;
  /** When it was hosted (ms since the epoch), for the inspector. */
  readonly createdAt = Date.now();
  constructor(id: string, typeid: string, referent: unknown, exposedList: readonly string[], methodToTypeid: Readonly<Record<string, string>>) {
    this.id = id;
    this.typeid = typeid;
    this.referent = referent;
    this.exposedList = exposedList;
    this.exposed = exposedSet(exposedList);
    this.methodToTypeid = methodToTypeid;
  }
}

/**
 * A referent that lives outside this server (a shared object kept in Redis, src/backends/redis/) names
 * itself with this: it is hosted under that id, the same on every server, and hosting it again returns
 * the object already hosted (its references add up), so a client that moves to another server finds it
 * under the same id.
 */
export const SHARED_ID: unique symbol = Symbol.for('mpmanager.sharedId');

/** The shared id a referent carries, or null for an ordinary (in-memory) referent. */
export function sharedIdOf(referent: unknown): string | null {
  if (referent === null || typeof referent !== 'object') return null;
  const id = (referent as { [SHARED_ID]?: unknown })[SHARED_ID];
  return typeof id === 'string' ? id : null;
}

export class ObjectTable {
  readonly #objects = new Map<string, HostedObject>();
  /** Ids are never reused within a server's life (CPython reuses `id()` values after an object dies). */
  readonly #prefix = randomBytes(3).toString('hex');
  #counter = 0;
  /** Called when an object is dropped, e.g. to let its referent clean up. */
  onDrop: ((obj: HostedObject) => void) | null = null;

  add(typeid: string, referent: unknown, exposed: readonly string[], methodToTypeid: Readonly<Record<string, string>>): HostedObject {
    const shared = sharedIdOf(referent);
    if (shared !== null) {
      const hosted = this.#objects.get(shared);
      if (hosted !== undefined) {
        if (hosted.typeid !== typeid) throw new InvalidArgumentError(`the shared object ${shared} is already served here as '${hosted.typeid}', not '${typeid}'`);
        return hosted;
      }
    }
    const id = shared ?? `${this.#prefix}${(++this.#counter).toString(16).padStart(6, '0')}`;
    const obj = new HostedObject(id, typeid, referent, exposed, methodToTypeid);
    this.#objects.set(id, obj);
    return obj;
  }

  get(id: string): HostedObject {
    const obj = this.#objects.get(id);
    if (!obj) throw new UnknownObjectError(id);
    return obj;
  }

  find(id: string): HostedObject | undefined {
    return this.#objects.get(id);
  }

  incref(id: string, n = 1): HostedObject {
    const obj = this.get(id);
    obj.refcount += n;
    return obj;
  }

  /** Drops `n` references; the object goes at zero. Unknown ids are ignored (already gone). */
  decref(id: string, n = 1): void {
    const obj = this.#objects.get(id);
    if (!obj) return;
    obj.refcount -= n;
    if (obj.refcount <= 0) {
      this.#objects.delete(id);
      this.onDrop?.(obj);
    }
  }

  get size(): number {
    return this.#objects.size;
  }

  values(): IterableIterator<HostedObject> {
    return this.#objects.values();
  }
}
