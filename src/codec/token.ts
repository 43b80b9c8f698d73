/**
 * A reference to a hosted object: `(typeid, address, id)`, exactly CPython's
 * `multiprocessing.managers.Token` (pickled as `Token` + `BUILD` with that 3-tuple).
 */
import type { Address } from '../transport/address.js';
import { formatAddress } from '../transport/address.js';

export class Token {
  readonly typeid: string;
  readonly address: Address;
  readonly id: string;
  constructor(typeid: string, address: Address, id: string) {
    this.typeid = typeid;
    this.address = address;
    this.id = id;
  }
  toString(): string {
    return `Token(typeid='${this.typeid}', address=${formatAddress(this.address)}, id='${this.id}')`;
  }
}
