/**
 * The pickle decode budget, checked before decoding: one linear pass over the opcodes that adds up what
 * the decoder (decode.ts) would charge, and refuses the pickle with `DecodeBudgetError` the moment that
 * passes `decodeAllocationFloor + decodeAllocationFactor * size`, without building anything.
 *
 * Why: the decoder charges as it builds, which bounds memory but not time. A 2 MB pickle of empty dicts
 * (`\x80\x04]\x94(}}}}...e.`) builds about 64 MB of objects before it is refused, and the garbage
 * collection that follows stalls the process for half a second; 20 MB takes seconds. This pass refuses
 * the same pickle in a few milliseconds and allocates nothing. (The msgpack codec does the same with
 * src/codec/msgpack-budget.ts.)
 *
 * How: the charges are the decoder's own (`COST`, exported by decode.ts), per opcode: a slot for every
 * value pushed, a container's cost for EMPTY_*, LIST, DICT, the TUPLEs and FROZENSET, a str's or bytes'
 * cost plus its length, a memo entry for every PUT. Opcodes that take the items since the topmost MARK (APPENDS,
 * SETITEMS, ADDITEMS, LIST, DICT, TUPLE, FROZENSET, INST, OBJ) are charged per item, so the scan keeps
 * the number of values above each open MARK (one counter per MARK, at most `maxDepth` of them, as the
 * decoder allows), following every opcode's pops and pushes. For every pickle the decoder accepts, the
 * estimate is at most the decoder's charge (less where the decoder charges what only decoding reveals:
 * array-index dict keys, the decoded length of a protocol 0 STRING), so nothing the decoder would accept
 * is refused here.
 *
 * The scan never judges well-formedness: on an unknown or refused opcode (PERSID, EXT*, out-of-band
 * buffers), a truncated argument, a length beyond the bytes left, a line without its newline, more open
 * MARKs than `maxDepth`, or STOP, it just stops and lets the decoder report the problem in its own words.
 * Arguments are skipped exactly as the decoder reads them, so bytes inside a str or bytes payload are
 * never taken for opcodes. Time is linear in the size; the only memory is the MARK counters.
 */
import { Buffer } from 'node:buffer';
import { DecodeBudgetError } from '../../errors.js';
import { COST } from './decode.js';
import { DEFAULT_PICKLE_LIMITS, type PickleLimits } from './limits.js';
import { opName } from './opcodes.js';

const NEWLINE = 0x0a;

// The decoder's charges, as plain constants. (The opcodes in the scan's switch are byte literals, named in
// comments, for the same reason: V8 compiles a switch over literals to one jump per byte, and a property
// load per case, when imports are accessors as under test runners, costs 20 times that.)
const BYTES = COST.bytes;
const DICT = COST.dict;
const DICT_ENTRY = COST.dictEntry;
const LIST = COST.list;
const MEMO = COST.memo;
const SET = COST.set;
const SET_ENTRY = COST.setEntry;
const SLOT = COST.slot;
const STRING = COST.string;
const TUPLE = COST.tuple;

/**
 * The most the estimate can grow per byte of pickle: each value costs its push (at most an empty dict, one
 * byte: a dict and a slot) and what the container that takes it in charges per item (at most a set
 * entry), and nothing else charges as much per byte. A pickle this short cannot pass its budget.
 */
const MOST_PER_BYTE = DICT + SLOT + SET_ENTRY;

/**
 * Refuses, with `DecodeBudgetError`, a pickle that would make the decoder charge more than
 * `decodeAllocationFloor + decodeAllocationFactor * size` bytes; returns normally otherwise, including for
 * pickles that are malformed (the decoder refuses those with its own messages).
 */
export function prescanPickle(bytes: Uint8Array, limits: PickleLimits): void {
  const allowed = limits.decodeAllocationFloor + limits.decodeAllocationFactor * bytes.length;
  if (MOST_PER_BYTE * bytes.length <= allowed) return;
  scan(bytes, limits.maxDepth, allowed, limits);
}

/**
 * What the pre-scan estimates the decoder will charge for `bytes` (up to where the scan stops), with no
 * budget applied. For tests and tuning.
 */
export function estimatePickleAllocation(bytes: Uint8Array, limits: Pick<PickleLimits, 'maxDepth'> = DEFAULT_PICKLE_LIMITS): number {
  return scan(bytes, limits.maxDepth, Infinity, null);
}

/** Adds up the charges; throws once they pass `allowed` (`limits` is only for the message). */
function scan(bytes: Uint8Array, maxDepth: number, allowed: number, limits: PickleLimits | null): number {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = b.length;
  let pos = 0;
  let charge = 0;
  /** Values on the stack above the topmost MARK (or above the bottom when no MARK is open). */
  let count = 0;
  /** `count` of each enclosing segment, one per open MARK. */
  const outer: number[] = [];
  let at = 0;
  let op = 0;

  while (pos < end) {
    at = pos;
    op = b[pos++] as number;
    let pushes = 1;
    switch (op) {
      case 0x80: // PROTO
        if (end - pos < 1) return charge;
        pos += 1;
        pushes = 0;
        break;
      case 0x95: { // FRAME
        if (end - pos < 8) return charge;
        const lo = u32(b, pos);
        const hi = u32(b, pos + 4);
        pos += 8;
        if (hi !== 0 || lo > end - pos) return charge;
        pushes = 0;
        break;
      }
      case 0x2e: // STOP
        return charge;

      // Scalars: a slot each.
      case 0x4e: // NONE
      case 0x88: // NEWTRUE
      case 0x89: // NEWFALSE
      case 0x32: // DUP
        break;
      case 0x4b: // BININT1
      case 0x68: // BINGET
        if (end - pos < 1) return charge;
        pos += 1;
        break;
      case 0x4d: // BININT2
        if (end - pos < 2) return charge;
        pos += 2;
        break;
      case 0x4a: // BININT
      case 0x6a: // LONG_BINGET
        if (end - pos < 4) return charge;
        pos += 4;
        break;
      case 0x47: // BINFLOAT
        if (end - pos < 8) return charge;
        pos += 8;
        break;
      case 0x8a: { // LONG1
        if (end - pos < 1) return charge;
        const n = b[pos++] as number;
        if (n > end - pos) return charge;
        pos += n;
        if (n > 6) charge += STRING + 2 * n;
        break;
      }
      case 0x8b: { // LONG4
        if (end - pos < 4) return charge;
        const n = i32(b, pos);
        pos += 4;
        if (n < 0 || n > end - pos) return charge;
        pos += n;
        if (n > 6) charge += STRING + 2 * n;
        break;
      }
      case 0x49: // INT
      case 0x4c: // LONG
      case 0x46: // FLOAT
      case 0x56: // UNICODE
      case 0x67: { // GET
        const nl = b.indexOf(NEWLINE, pos);
        if (nl < 0) return charge;
        pos = nl + 1;
        break;
      }
      case 0x53: { // STRING
        // The decoder charges the decoded length, which escapes make shorter than the line.
        const nl = b.indexOf(NEWLINE, pos);
        if (nl < 0) return charge;
        pos = nl + 1;
        charge += STRING;
        break;
      }

      // str and bytes: their cost plus their length.
      case 0x8c: // SHORT_BINUNICODE
      case 0x55: // SHORT_BINSTRING
      case 0x43: { // SHORT_BINBYTES
        if (end - pos < 1) return charge;
        const n = b[pos++] as number;
        if (n > end - pos) return charge;
        pos += n;
        charge += (op === 0x43 /* SHORT_BINBYTES */ ? BYTES : STRING) + n;
        break;
      }
      case 0x58: // BINUNICODE
      case 0x54: // BINSTRING
      case 0x42: { // BINBYTES
        if (end - pos < 4) return charge;
        const n = op === 0x54 /* BINSTRING */ ? i32(b, pos) : u32(b, pos);
        pos += 4;
        if (n < 0 || n > end - pos) return charge;
        pos += n;
        charge += (op === 0x42 /* BINBYTES */ ? BYTES : STRING) + n;
        break;
      }
      case 0x8d: // BINUNICODE8
      case 0x8e: // BINBYTES8
      case 0x96: { // BYTEARRAY8
        if (end - pos < 8) return charge;
        const n = u32(b, pos);
        const hi = u32(b, pos + 4);
        pos += 8;
        if (hi !== 0 || n > end - pos) return charge;
        pos += n;
        // A bytearray is a view of a copy the decoder does not charge for.
        if (op !== 0x96 /* BYTEARRAY8 */) charge += (op === 0x8e /* BINBYTES8 */ ? BYTES : STRING) + n;
        break;
      }

      // Containers
      case 0x28: // MARK
        if (outer.length >= maxDepth) return charge;
        outer.push(count);
        count = 0;
        pushes = 0;
        break;
      case 0x29: // EMPTY_TUPLE
        charge += TUPLE;
        break;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: { // TUPLE3
        const n = op - 0x85 /* TUPLE1 */ + 1;
        charge += TUPLE + SLOT * n;
        count = count > n ? count - n : 0;
        break;
      }
      case 0x74: // TUPLE
        charge += TUPLE + SLOT * count;
        count = outer.pop() ?? 0;
        break;
      case 0x5d: // EMPTY_LIST
        charge += LIST;
        break;
      case 0x6c: // LIST
        charge += LIST + SLOT * count;
        count = outer.pop() ?? 0;
        break;
      case 0x61: // APPEND
        charge += SLOT;
        if (count > 0) count--;
        pushes = 0;
        break;
      case 0x65: // APPENDS
        charge += SLOT * count;
        count = outer.pop() ?? 0;
        pushes = 0;
        break;
      case 0x7d: // EMPTY_DICT
        charge += DICT;
        break;
      case 0x64: // DICT
        charge += DICT + DICT_ENTRY * (count >>> 1);
        count = outer.pop() ?? 0;
        break;
      case 0x73: // SETITEM
        charge += DICT_ENTRY;
        count = count > 2 ? count - 2 : 0;
        pushes = 0;
        break;
      case 0x75: // SETITEMS
        charge += DICT_ENTRY * (count >>> 1);
        count = outer.pop() ?? 0;
        pushes = 0;
        break;
      case 0x8f: // EMPTY_SET
        charge += SET;
        break;
      case 0x90: // ADDITEMS
        charge += SET_ENTRY * count;
        count = outer.pop() ?? 0;
        pushes = 0;
        break;
      case 0x91: // FROZENSET
        charge += SET + SET_ENTRY * count;
        count = outer.pop() ?? 0;
        break;

      // Stack manipulation
      case 0x30: // POP
        // With nothing above the topmost MARK, POP discards the MARK (as CPython and the decoder do).
        if (count > 0) count--;
        else count = outer.pop() ?? 0;
        pushes = 0;
        break;
      case 0x31: // POP_MARK
        count = outer.pop() ?? 0;
        pushes = 0;
        break;

      // Memo: an entry for every PUT, nothing pushed.
      case 0x94: // MEMOIZE
        charge += MEMO;
        pushes = 0;
        break;
      case 0x71: // BINPUT
        if (end - pos < 1) return charge;
        pos += 1;
        charge += MEMO;
        pushes = 0;
        break;
      case 0x72: // LONG_BINPUT
        if (end - pos < 4) return charge;
        pos += 4;
        charge += MEMO;
        pushes = 0;
        break;
      case 0x70: { // PUT
        const nl = b.indexOf(NEWLINE, pos);
        if (nl < 0) return charge;
        pos = nl + 1;
        charge += MEMO;
        pushes = 0;
        break;
      }

      // Globals and objects. What an allow-listed call builds is not charged by the decoder either.
      case 0x63: { // GLOBAL
        const nl = b.indexOf(NEWLINE, pos);
        const nl2 = nl < 0 ? -1 : b.indexOf(NEWLINE, nl + 1);
        if (nl2 < 0) return charge;
        pos = nl2 + 1;
        break;
      }
      case 0x93: // STACK_GLOBAL
      case 0x52: // REDUCE
      case 0x81: // NEWOBJ
        count = count > 2 ? count - 2 : 0;
        break;
      case 0x92: // NEWOBJ_EX
        count = count > 3 ? count - 3 : 0;
        break;
      case 0x62: // BUILD
        if (count > 0) count--;
        pushes = 0;
        break;
      case 0x69: { // INST
        const nl = b.indexOf(NEWLINE, pos);
        const nl2 = nl < 0 ? -1 : b.indexOf(NEWLINE, nl + 1);
        if (nl2 < 0) return charge;
        pos = nl2 + 1;
        // The items since the MARK become the argument tuple.
        charge += TUPLE + SLOT * count;
        count = outer.pop() ?? 0;
        break;
      }
      case 0x6f: // OBJ
        // The first item since the MARK is the class, the rest the argument tuple.
        charge += TUPLE + SLOT * (count > 0 ? count - 1 : 0);
        count = outer.pop() ?? 0;
        break;

      default:
        // Unknown, or refused by the decoder on sight (PERSID, BINPERSID, EXT1/2/4, NEXT_BUFFER,
        // READONLY_BUFFER): the decoder goes no further than this.
        return charge;
    }
    if (pushes !== 0) {
      count++;
      charge += SLOT;
    }
    if (charge > allowed) refuse(b.length, charge, allowed, at, op, limits);
  }
  return charge;
}

function refuse(size: number, charge: number, allowed: number, at: number, op: number, limits: PickleLimits | null): never {
  const factor = limits?.decodeAllocationFactor;
  const floor = limits?.decodeAllocationFloor;
  throw new DecodeBudgetError(
    'decodeAllocationFactor',
    `a pickle of ${size} bytes would make the decoder allocate more than ${factor} times its size ` +
      `(${floor} bytes + ${factor} per byte): over ${charge} bytes by ${opName(op)} at offset ${at}, found before decoding`,
    { actual: charge, allowed: Math.floor(allowed), offset: at },
  );
}

function u32(b: Uint8Array, at: number): number {
  return (b[at] as number) + (b[at + 1] as number) * 0x100 + (b[at + 2] as number) * 0x10000 + (b[at + 3] as number) * 0x1000000;
}

function i32(b: Uint8Array, at: number): number {
  return (b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16) | ((b[at + 3] as number) << 24);
}
