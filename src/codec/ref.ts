/**
 * A reference to a hosted object as it travels inside values: the token plus the exposed method names
 * the receiver needs to build a proxy, and (for CPython peers) the proxy class to rebuild it with.
 * Codecs write anything that extends `RefHolder` as a reference, and hand decoded references to the
 * receiver's `reviveRef` so the receiver decides what a reference becomes (a proxy on a client, the
 * hosted object's handle inside the server).
 */
import type { Token } from './token.js';

export abstract class RefHolder {
  abstract toObjectRef(): ObjectRef;
}

export class ObjectRef extends RefHolder {
  readonly token: Token;
  /** Exposed method names, or null when the receiver should ask the server (`get_methods`). */
  readonly exposed: readonly string[] | null;
  /** The proxy class a CPython peer rebuilds this reference with (`DictProxy`, `AutoProxy`, ...), if known. */
  readonly proxytype: string | null;
  constructor(token: Token, exposed: readonly string[] | null, proxytype: string | null = null) {
    super();
    this.token = token;
    this.exposed = exposed;
    this.proxytype = proxytype;
  }
  toObjectRef(): ObjectRef {
    return this;
  }
}
