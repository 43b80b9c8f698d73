/**
 * Sizes of the shared (Redis) objects a server serves: the `sharedObjects` the server was given (the CLI's
 * `--shared` names, hosted or not yet), plus the shared objects it hosts that the list lacks (a manager
 * that registered `registerShared` names itself). One Redis look-up per object, at most
 * MAX_SHARED_LOOKUPS of them, so a scrape or a snapshot costs a bounded number of round trips.
 */
import { SIZE, SharedObject } from '../backends/redis/backend.js';
import type { Server, SharedObjectInfo } from '../server/server.js';

/** Hosted shared objects looked up at most, beyond the server's own list. */
export const MAX_SHARED_LOOKUPS = 100;

const key = (typeid: string, name: string) => `${typeid}\u0000${name}`;

export async function sharedSizes(server: Server): Promise<SharedObjectInfo[]> {
  const view = server.view;
  const listed = [...(await view.sharedObjects().catch(() => []))];
  const seen = new Set(listed.map((o) => key(o.typeid, o.name)));
  const extra: SharedObject[] = [];
  for (const o of view.objects()) {
    if (extra.length >= MAX_SHARED_LOOKUPS) break;
    const referent = o.referent;
    if (!(referent instanceof SharedObject) || seen.has(key(referent.typeid, referent.name))) continue;
    seen.add(key(referent.typeid, referent.name));
    extra.push(referent);
  }
  const looked = await Promise.all(
    extra.map((o) => o[SIZE]().then((size): SharedObjectInfo => ({ name: o.name, typeid: o.typeid, size }), () => null)),
  );
  return [...listed, ...looked.filter((o): o is SharedObjectInfo => o !== null)];
}
