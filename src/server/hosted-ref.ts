/**
 * A reference to one of the server's own objects, held inside a value (a proxy a client stored in a
 * hosted dict, or passed as an argument). It keeps the object alive while the value holds it, and lets
 * the object go when it is garbage collected: CPython leaks such nested references (gh-103136).
 */
import { RefHolder, type ObjectRef } from '../codec/ref.js';
import type { HostedObject, ObjectTable } from './objects.js';
import { PY_REPR } from '../python-repr.js';

const releaser = new FinalizationRegistry<{ table: ObjectTable; id: string }>(({ table, id }) => table.decref(id));

export class HostedRef extends RefHolder {
  readonly #ref: ObjectRef;
  readonly #object: HostedObject;

  constructor(table: ObjectTable, object: HostedObject, ref: ObjectRef) {
    super();
    table.incref(object.id);
    releaser.register(this, { table, id: object.id });
    this.#object = object;
    this.#ref = ref;
  }

  /** The hosted object itself, for code running inside the server. */
  get referent(): unknown {
    return this.#object.referent;
  }

  get id(): string {
    return this.#object.id;
  }

  get typeid(): string {
    return this.#object.typeid;
  }

  toObjectRef(): ObjectRef {
    return this.#ref;
  }

  /** What Python prints for a proxy held in a value: `<AutoProxy[Queue] object, typeid 'Queue' at 0x…>`. */
  [PY_REPR](): string {
    const proxytype = this.#ref.proxytype;
    const name = proxytype ? proxytype.slice(proxytype.lastIndexOf('.') + 1) : `AutoProxy[${this.#object.typeid}]`;
    return `<${name} object, typeid '${this.#object.typeid}' at 0x${this.#object.id}>`;
  }
}
