/**
 * The msgpack decode budget: one linear pass over a frame, before msgpackr sees it, that refuses frames
 * which would make the decoder build far more JS heap than they have bytes, or nest too deep.
 *
 * Why: msgpackr turns every byte of a frame into an object if asked to. A 30 MB frame that is a list of
 * 30 million empty maps (`dd <n> 80 80 80 ...`) becomes 30 million objects (2.3 GB of heap, seconds of
 * work); a few such frames kill the process. Worse, because maps decode to plain objects
 * (`mapsAsObjects`), a map whose key is an integer (or a digit string) below about 5 000 makes V8 give
 * the object a fast elements store sized by the key: `{1023: 0}` is 5 bytes on the wire and 12 KB in
 * the heap (2 500 times its size).
 *
 * How: the scan walks the msgpack structure with an explicit stack of "items still to come" counts (one
 * slot per open container, at most `maxDepth` of them), never recursing, and charges each value what V8
 * will spend on it as msgpackr builds it (the `COST` table below, measured). The frame is refused with
 * `DecodeBudgetError` the moment the running charge passes `decodeAllocationFloor + decodeAllocationFactor * size`,
 * without finishing the scan; it is refused with `MalformedMsgpackError` if it is not exactly one complete
 * msgpack value (truncated, trailing bytes, the never-used byte 0xc1, a count larger than the bytes left
 * could hold, or a msgpackr extension that changes the grammar). Time is linear in the frame's size; the
 * only memory used is a few fixed-size scratch tables, reused from call to call.
 *
 * The charges are calibrated for the Packr of src/codec/msgpack.ts (`mapsAsObjects`, `moreTypes`,
 * `int64AsType: 'auto'`, no records, no structured clone, no bundled strings) with its extensions, on
 * 64-bit Node 20 without pointer compression. They are upper estimates of what the decoded value keeps
 * (checked by test/codec/msgpack-budget.test.ts against real heap growth), not exact sizes.
 */

import { CodecError, DecodeBudgetError } from '../errors.js';
import { DEFAULT_LIMITS, type Limits } from '../limits.js';

/**
 * The limits one frame is held to, documented with their defaults in src/limits.ts (`maxDepth` here also
 * counts the extensions that wrap a value: a tuple, a Set, a RegExp, an object reference or an error each
 * count one level more than the array they hold).
 */
export type DecodeBudget = Pick<Limits, 'decodeAllocationFactor' | 'decodeAllocationFloor' | 'maxDepth'>;

/** The bytes are not exactly one complete msgpack value that the decoder accepts. */
export class MalformedMsgpackError extends CodecError {
  /** Where in the frame the problem was found. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`malformed msgpack frame: ${message} (at byte ${offset})`);
    this.offset = offset;
  }
}

/**
 * Refuses a frame that msgpackr would turn into more heap than `budget` allows, or that nests deeper, or
 * that is not one complete msgpack value. Returns normally when the frame may be decoded.
 * Throws `DecodeBudgetError` or `MalformedMsgpackError`; `RangeError` for a budget that is not valid.
 */
export function checkMsgpackBudget(bytes: Uint8Array, budget: DecodeBudget = DEFAULT_LIMITS): void {
  checkBudget(budget);
  scan(bytes, budget.maxDepth, budget.decodeAllocationFloor + budget.decodeAllocationFactor * bytes.length, budget);
}

/**
 * The heap, in bytes, the check estimates decoding `bytes` costs (what it compares with the budget),
 * scanning the whole frame whatever the estimate. Still throws `MalformedMsgpackError`, and
 * `DecodeBudgetError` for nesting deeper than `maxDepth`. For tests and tuning.
 */
export function estimateMsgpackAllocation(bytes: Uint8Array, maxDepth: number = DEFAULT_LIMITS.maxDepth): number {
  checkBudget({ ...DEFAULT_LIMITS, maxDepth });
  return scan(bytes, maxDepth, Infinity, undefined);
}

function checkBudget(budget: DecodeBudget): void {
  const { decodeAllocationFactor: f, decodeAllocationFloor: floor, maxDepth: d } = budget;
  if (typeof f !== 'number' || !(f >= 0)) throw new RangeError(`decodeAllocationFactor must be a number >= 0, got ${String(f)}`);
  if (typeof floor !== 'number' || !(floor >= 0)) throw new RangeError(`decodeAllocationFloor must be a number >= 0, got ${String(floor)}`);
  if (!Number.isSafeInteger(d) || d < 1 || d > MAX_MAX_DEPTH) {
    throw new RangeError(`maxDepth must be an integer from 1 to ${MAX_MAX_DEPTH}, got ${String(d)}`);
  }
}

/** A maxDepth above this is refused: msgpackr recurses once or twice per level, and the stack would run out first. */
const MAX_MAX_DEPTH = 100_000;

/**
 * What msgpackr (as src/codec/msgpack.ts configures it) makes V8 allocate, in bytes, for each kind of
 * value. Measured on Node 20 x64 with `--expose-gc`, heapUsed (+ arrayBuffers) after decoding a list of
 * 10^5..10^6 of each and collecting garbage; the measured figure is in brackets where it differs.
 */
const COST = {
  /** A slot in an array's backing store, per element. */
  slot: 8,
  /** An empty array: the JSArray [32]. */
  emptyArray: 32,
  /** A non-empty array: the JSArray and its FixedArray's header [48], plus a slot per element. */
  array: 48,
  /** A map decodes to a plain object `{}` with four in-object property slots [56]. */
  map: 56,
  /** Each of a map's first 16 named properties, in fast mode (out-of-object storage, amortized) [2-11]. */
  fastProperty: 16,
  /** Past 16 properties V8 makes the object a dictionary: 24 bytes per bucket (see `namedCost`) [40-68 per entry]. */
  dictionaryBucket: 24,
  /** A dictionary's header and the object's own hidden class [~130]. */
  dictionaryHeader: 160,
  /**
   * A property name first seen in this frame, in one of a map's first 16 places: V8 makes a new hidden
   * class (map, descriptors, transition) and internalizes the name [60-156 + the name].
   */
  newFastKey: 160,
  /** A property name first seen in this frame past the 16th place (dictionary mode): the internalized name [~25]. */
  newDictionaryKey: 32,
  /** A string of two or more bytes: header, plus up to 2 bytes per wire byte (two-byte strings) [24 for 'ab']. */
  string: 24,
  /** A float, a 32-bit int (a HeapNumber where it is no smi) [16]. */
  number: 16,
  /** A 64-bit int: a Number or a BigInt [16-24, and ~150 more garbage while 'auto' decides]. */
  int64: 24,
  /** bin: a Buffer that is a view of the frame, no copy [92]. It keeps the whole frame alive. */
  bin: 104,
  /** ext 0x74 (typed array, ArrayBuffer, DataView): a copy of the payload plus the objects [186]. */
  typedArray: 192,
  /** ext 0xff (Date) [96-131]. */
  date: 136,
  /** ext 0x42 (BigInt): header plus twice the payload (the decoder builds it in pieces) [237 for 100 bytes]. */
  bigint: 64,
  /** ext 0x65 as msgpack.ts decodes it: an object and a Buffer copy of the payload [138]. */
  inertError: 160,
  /** ext 4 (blob reference): the blob itself, or a Uint8Array view of it [~96]. */
  blobRef: 104,
  /** ext 1 (object reference): ObjectRef and Token [88 with an empty 5-array]; what `reviveRef` makes of it is not counted. */
  objectRef: 128,
  /** ext 2 (remote error): an Error with a captured stack trace [750-780 at stackTraceLimit 10]. */
  remoteError: 1024,
  /**
   * ext 3 (tuple): a Tuple grown by push(), 48 bytes plus 8 per slot of a capacity that starts at 4 and
   * grows to 1.5 (n + 1) + 16 (see `tupleCost`) [80 for 0-4 items, 232 for 5-23, 1336 for 96-160]. Charged
   * where it is more than the array it is built from (which is garbage once it is).
   */
  tupleHeader: 48,
  /** ext 0x73 (Set): 72 bytes plus 20 per slot of a power-of-two capacity of at least 4 (see `setCost`) [152 for 0-4 items, 2632 for 65-128]. */
  setHeader: 80,
  setSlot: 20,
  /** ext 0x78 (RegExp): the JSRegExp and its data [62 + the source string]. */
  regexp: 96,
  /** Any other ext type (msgpackr refuses it): the payload and a little. */
  unknownExt: 64,
} as const;

/**
 * Past this many property names first seen in the first 16 places of maps, small maps are charged as
 * dictionaries: a hidden class holds at most 1536 transitions (V8's kMaxNumberOfTransitions), and an
 * object that needs one more is made a dictionary from its first property (measured: 194 bytes for
 * `{zz: 0}` after 1600 distinct first keys in the same frame, against 72 before). Transitions made by
 * values decoded earlier and still alive are not seen here: after such a history, a small map may cost
 * up to 3 times its estimate.
 */
const NEW_KEYS_BEFORE_DICTIONARIES = 1024;
/** V8's rules for an object's elements (integer-keyed properties): see `chargeIndexKey`. */
const MAX_GAP = 1024;
const MAX_UNCHECKED_FAST_ELEMENTS = 5000;
/** An array index is below 2^32 - 1; larger integer keys are named properties. */
const MAX_ARRAY_INDEX = 4294967294;

// Frame kinds on the scan stack.
const ROOT = 0;
const ARRAY = 1;
const MAP = 2;
/** An extension whose value is the msgpack value that follows it (a tuple, Set, RegExp, reference, error). */
const WRAPPER = 3;

/** Extension types msgpackr decodes in a way that changes the msgpack grammar; our encoder never writes them. */
const REFUSED_EXT: ReadonlyMap<number, string> = new Map([
  [0x62, "msgpackr's bundled strings (ext 0x62) are not accepted"],
  [0x69, "msgpackr's structured-clone references (ext 0x69) are not accepted"],
  [0x70, "msgpackr's structured-clone pointers (ext 0x70) are not accepted"],
  [0x72, "msgpackr's records (ext 0x72) are not accepted"],
]);
/** Our extensions msgpackr writes as fixext 1 and a filler byte, followed by their value (`write`/`read`). */
const isFixext1Wrapper = (type: number): boolean => type === 1 || type === 2 || type === 3;
/** msgpackr's own extensions that read the value after their payload, in any ext form (Set, RegExp). */
const isAnyWrapper = (type: number): boolean => type === 0x73 || type === 0x78;

// Scratch tables, grown to the largest maxDepth asked for and reused (the scan calls no other code, so
// it is never re-entered). Per open frame: values still to come, its kind; per open map: its size, its
// named properties, and the state of its elements (integer keys).
let capacity = 0;
let remaining = new Float64Array(0);
let kinds = new Uint8Array(0);
let mapSize = new Float64Array(0);
let named = new Float64Array(0);
let namedCharged = new Float64Array(0);
let elemCapacity = new Float64Array(0); // the fast store's capacity, largest so far
let elemCount = new Float64Array(0); // integer keys so far
let elemMaxKey = new Float64Array(0);
let elemSlow = new Uint8Array(0); // bit 1: dictionary elements now; bit 2: ever
let elemCharged = new Float64Array(0);

function ensureCapacity(maxDepth: number): void {
  if (maxDepth + 1 <= capacity) return;
  capacity = maxDepth + 1;
  remaining = new Float64Array(capacity);
  kinds = new Uint8Array(capacity);
  mapSize = new Float64Array(capacity);
  named = new Float64Array(capacity);
  namedCharged = new Float64Array(capacity);
  elemCapacity = new Float64Array(capacity);
  elemCount = new Float64Array(capacity);
  elemMaxKey = new Float64Array(capacity);
  elemSlow = new Uint8Array(capacity);
  elemCharged = new Float64Array(capacity);
}

/**
 * Property names seen in this frame: a fixed table of the (offset, length) of earlier names in the frame,
 * compared byte for byte, so a name counts as seen only if it really was. Forgetting one (a slot taken
 * by another) costs only an overestimate.
 */
const SEEN_SIZE = 4096;
const seenOffset = new Int32Array(SEEN_SIZE);
const seenTag = new Int32Array(SEEN_SIZE); // a string key's length, or ~length of a scalar key's raw bytes
const seenEpoch = new Uint32Array(SEEN_SIZE);
const floatBytes = new Uint8Array(8);
const floatView = new DataView(floatBytes.buffer);

/** State the key helpers share with the scan loop (never re-entered, see above). */
const shared = {
  epoch: 0,
  /** Property names first seen in the first 16 places of a map, this frame. */
  newKeys: 0,
  /** Set once `newKeys` passes NEW_KEYS_BEFORE_DICTIONARIES: small maps are charged as dictionaries. */
  dictionaries: false,
  /** What a helper charged. */
  charged: 0,
};

function scan(bytes: Uint8Array, maxDepth: number, allowed: number, budget: DecodeBudget | undefined): number {
  ensureCapacity(maxDepth);
  if (++shared.epoch === 0x100000000) {
    seenEpoch.fill(0);
    shared.epoch = 1;
  }
  shared.newKeys = 0;
  shared.dictionaries = false;
  const rem = remaining;
  const kind = kinds;
  const len = bytes.length;
  let pos = 0;
  let top = 0;
  let need = 1; // values still to come in all open frames; each needs at least a byte
  let cost = 0;
  let wrapTuples = 0; // tuples (ext 3) waiting for the value that follows them
  let wrapSets = 0; // Sets (ext 0x73) likewise
  kind[0] = ROOT;
  rem[0] = 1;

  for (;;) {
    let left = rem[top] as number;
    while (left === 0) {
      if (top === 0) {
        if (pos !== len) throw new MalformedMsgpackError(`${len - pos} bytes after the value (one frame holds one value)`, pos);
        return cost;
      }
      left = rem[--top] as number;
    }
    if (pos >= len) throw truncated(pos);
    rem[top] = left - 1;
    need--;
    const start = pos;
    const b = bytes[pos++] as number;

    if (kind[top] === MAP && left % 2 === 0) {
      const next = chargeKey(bytes, b, start, pos, top);
      if (next >= 0) {
        pos = next;
        cost += shared.charged;
        if (cost > allowed) throw overBudget(budget, len, cost, allowed, start);
        continue;
      }
      // no string or scalar: msgpackr builds it, then refuses it as a key; scanned as a value
    }

    if (b < 0x80 || b >= 0xe0) {
      // positive and negative fixint: nothing allocated
      wrapTuples = wrapSets = 0;
      continue;
    }
    let items = -1; // a container's values to come, when the value opens one
    let frameKind = ARRAY;
    let n = 0;
    if (b >= 0xa0 && b <= 0xbf) {
      n = b - 0xa0;
      if (n > len - pos) throw truncated(start);
      pos += n;
      // '' and one ASCII character are V8's shared strings; anything else is a new string
      if (n > 1 || (n === 1 && (bytes[pos - 1] as number) >= 0x80)) cost += COST.string + 2 * n;
      if (wrapTuples + wrapSets !== 0) {
        cost += wrapSets * (setCost(n) - setCost(0) + 12 * n); // a Set of a string: its characters
        wrapTuples = wrapSets = 0;
      }
    } else if (b <= 0x9f) {
      n = b & 0x0f;
      if (b < 0x90) {
        cost += COST.map;
        frameKind = MAP;
        items = 2 * n;
      } else {
        const base = n === 0 ? COST.emptyArray : COST.array + COST.slot * n;
        cost += base;
        if (wrapTuples + wrapSets !== 0) cost += unwrapArray(n, base, wrapTuples, wrapSets);
        items = n;
      }
      wrapTuples = wrapSets = 0;
    } else {
      switch (b) {
        case 0xc0: // nil, false, true
        case 0xc2:
        case 0xc3:
          wrapTuples = wrapSets = 0;
          continue;
        case 0xcc: // uint 8, int 8: smis
        case 0xd0:
          if (1 > len - pos) throw truncated(start);
          pos += 1;
          wrapTuples = wrapSets = 0;
          continue;
        case 0xcd: // uint 16, int 16
        case 0xd1:
          if (2 > len - pos) throw truncated(start);
          pos += 2;
          wrapTuples = wrapSets = 0;
          continue;
        case 0xca: // float 32, uint 32, int 32: a HeapNumber where no smi
        case 0xce:
        case 0xd2:
          if (4 > len - pos) throw truncated(start);
          pos += 4;
          cost += COST.number;
          wrapTuples = wrapSets = 0;
          break;
        case 0xcb: // float 64
          if (8 > len - pos) throw truncated(start);
          pos += 8;
          cost += COST.number;
          wrapTuples = wrapSets = 0;
          break;
        case 0xcf: // uint 64, int 64
        case 0xd3:
          if (8 > len - pos) throw truncated(start);
          pos += 8;
          cost += COST.int64;
          wrapTuples = wrapSets = 0;
          break;
        case 0xd9: // str 8, 16, 32
        case 0xda:
        case 0xdb:
        case 0xc4: // bin 8, 16, 32
        case 0xc5:
        case 0xc6: {
          const width = b === 0xd9 || b === 0xc4 ? 1 : b === 0xda || b === 0xc5 ? 2 : 4;
          if (width > len - pos) throw truncated(start);
          n = readUint(bytes, pos, width);
          pos += width;
          if (n > len - pos) throw truncated(start);
          pos += n;
          if (b >= 0xd9) {
            cost += COST.string + 2 * n;
            if (wrapSets !== 0) cost += wrapSets * (setCost(n) - setCost(0) + 12 * n);
          } else {
            cost += COST.bin; // a view of the frame
            if (wrapSets !== 0) cost += wrapSets * (setCost(Math.min(n, 256)) - setCost(0)); // a Set of its byte values
          }
          wrapTuples = wrapSets = 0;
          break;
        }
        case 0xdc: // array 16, 32, map 16, 32
        case 0xdd:
        case 0xde:
        case 0xdf: {
          const width = b === 0xdc || b === 0xde ? 2 : 4;
          if (width > len - pos) throw truncated(start);
          n = readUint(bytes, pos, width);
          pos += width;
          if (b >= 0xde) {
            cost += COST.map;
            frameKind = MAP;
            items = 2 * n;
          } else {
            const base = n === 0 ? COST.emptyArray : COST.array + COST.slot * n;
            cost += base;
            if (wrapTuples + wrapSets !== 0) cost += unwrapArray(n, base, wrapTuples, wrapSets);
            items = n;
          }
          wrapTuples = wrapSets = 0;
          break;
        }
        case 0xd4: // fixext 1, 2, 4, 8, 16, ext 8, 16, 32
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
        case 0xc7:
        case 0xc8:
        case 0xc9: {
          if (b >= 0xd4) n = 1 << (b - 0xd4);
          else {
            const width = b === 0xc7 ? 1 : b === 0xc8 ? 2 : 4;
            if (width > len - pos) throw truncated(start);
            n = readUint(bytes, pos, width);
            pos += width;
          }
          if (n + 1 > len - pos) throw truncated(start);
          const type = bytes[pos] as number;
          pos += 1 + n;
          if (isFixext1Wrapper(type) || isAnyWrapper(type)) {
            if (!isAnyWrapper(type) && b !== 0xd4) throw new MalformedMsgpackError(`ext ${type} must be a fixext 1 followed by its value`, start);
            // the value that follows is the wrapper's: a frame of one
            if (type === 3) wrapTuples++;
            else if (type === 0x73) {
              cost += setCost(0); // new Set(undefined) is a Set too
              wrapSets++;
            } else cost += type === 1 ? COST.objectRef : type === 2 ? COST.remoteError : COST.regexp;
            frameKind = WRAPPER;
            items = 1;
          } else {
            cost += extCost(type, n, start);
            if (type === 0x74 && wrapSets !== 0) cost += wrapSets * (setCost(n) - setCost(0)); // a Set of a typed array
            wrapTuples = wrapSets = 0;
          }
          break;
        }
        case 0xc1:
          throw new MalformedMsgpackError('0xc1 is never used in msgpack', start);
        default:
          throw new MalformedMsgpackError(`unknown byte 0x${b.toString(16)}`, start);
      }
    }
    if (items >= 0) {
      // a container (even an empty one counts for depth) or a wrapper: open its frame
      if (top >= maxDepth) throw tooDeep(maxDepth, top + 1, start);
      if (items > 0) {
        need += items;
        if (need > len - pos) {
          throw new MalformedMsgpackError(`a ${frameKind === MAP ? `map of ${n} entries` : frameKind === ARRAY ? `array of ${n} items` : 'extension value'} cannot fit in the ${len - pos} bytes left`, start);
        }
        top++;
        kind[top] = frameKind;
        rem[top] = items;
        if (frameKind === MAP) {
          mapSize[top] = n;
          named[top] = 0;
          namedCharged[top] = 0;
          elemCapacity[top] = 0;
          elemCount[top] = 0;
          elemMaxKey[top] = -1;
          elemSlow[top] = 0;
          elemCharged[top] = 0;
        }
      }
    }
    if (cost > allowed) throw overBudget(budget, len, cost, allowed, start);
  }
}

function readUint(bytes: Uint8Array, at: number, width: number): number {
  if (width === 1) return bytes[at] as number;
  if (width === 2) return ((bytes[at] as number) << 8) | (bytes[at + 1] as number);
  return u32(bytes, at);
}

function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at] as number) * 0x1000000 + (((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number));
}

/** What the tuples and Sets waiting for an array of n items build from it, beyond the array itself (`base`). */
function unwrapArray(n: number, base: number, tuples: number, sets: number): number {
  return tuples * Math.max(0, tupleCost(n) - base) + sets * (setCost(n) - setCost(0));
}

/** An extension that is all payload. */
function extCost(type: number, n: number, at: number): number {
  const refused = REFUSED_EXT.get(type);
  if (refused !== undefined) throw new MalformedMsgpackError(refused, at);
  switch (type) {
    case 0: // undefined
    case 5: // a blob frame's own value: the decoder refuses it inside a message
      return 0;
    case 4:
      return COST.blobRef;
    case 0x42:
      return COST.bigint + 2 * n;
    case 0x65:
      return COST.inertError + n;
    case 0x74:
      return COST.typedArray + n;
    case 0xff:
      return COST.date;
    default:
      return COST.unknownExt + n;
  }
}

/**
 * Charges a map key (into `shared.charged`) as msgpackr makes it a property name (`String(key)` for
 * numbers, booleans, nil, undefined and BigInt) and returns where the key ends; -1 for a key that is no
 * string or scalar, which the caller scans as an ordinary value.
 */
function chargeKey(bytes: Uint8Array, b: number, at: number, pos: number, m: number): number {
  const len = bytes.length;
  shared.charged = 0;
  const place = (mapSize[m] as number) - Math.ceil((remaining[m] as number) / 2); // the entry's index in its map
  let index = -1;
  if ((b >= 0xa0 && b <= 0xbf) || b === 0xd9 || b === 0xda || b === 0xdb) {
    let n: number;
    if (b <= 0xbf) n = b - 0xa0;
    else {
      const width = b === 0xd9 ? 1 : b === 0xda ? 2 : 4;
      if (width > len - pos) throw truncated(at);
      n = readUint(bytes, pos, width);
      pos += width;
    }
    if (n > len - pos) throw truncated(at);
    pos += n;
    index = digitIndex(bytes, pos - n, n);
    if (index >= 0) chargeIndexKey(m, index);
    else chargeNamedKey(bytes, m, place, pos - n, n, n, false);
    return pos;
  }
  if (b < 0x80) index = b;
  else if (b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) index = -1;
  else {
    let width = 0;
    switch (b) {
      case 0xcc:
      case 0xd0:
        width = 1;
        break;
      case 0xcd:
      case 0xd1:
        width = 2;
        break;
      case 0xce:
      case 0xd2:
      case 0xca:
        width = 4;
        break;
      case 0xcf:
      case 0xd3:
      case 0xcb:
        width = 8;
        break;
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
      case 0xc7:
      case 0xc8:
      case 0xc9: {
        // undefined and BigInt keys become names ('undefined', '123'); other extensions make objects,
        // which msgpackr refuses as keys after building them
        let n: number;
        let p = pos;
        if (b >= 0xd4) n = 1 << (b - 0xd4);
        else {
          const w = b === 0xc7 ? 1 : b === 0xc8 ? 2 : 4;
          if (w > len - p) throw truncated(at);
          n = readUint(bytes, p, w);
          p += w;
        }
        if (n + 1 > len - p) throw truncated(at);
        const type = bytes[p] as number;
        if (type !== 0 && type !== 0x42) return -1;
        p += 1 + n;
        if (type === 0x42) {
          shared.charged += COST.bigint + 2 * n;
          index = bigintIndex(bytes, p - n, n);
        }
        if (index >= 0 && index <= MAX_ARRAY_INDEX) chargeIndexKey(m, index);
        else chargeNamedKey(bytes, m, place, at, p - at, 0, true);
        return p;
      }
      default:
        return -1;
    }
    if (width > len - pos) throw truncated(at);
    if (b === 0xca || b === 0xcb) {
      for (let i = 0; i < width; i++) floatBytes[i] = bytes[pos + i] as number;
      const f = width === 4 ? floatView.getFloat32(0) : floatView.getFloat64(0);
      index = Number.isInteger(f) && f >= 0 ? f : -1; // String(-0) is '0'
    } else if (b >= 0xd0 && (bytes[pos] as number) >= 0x80) {
      index = -1; // negative
    } else if (width === 8) {
      index = u32(bytes, pos) === 0 ? u32(bytes, pos + 4) : -1;
    } else {
      index = readUint(bytes, pos, width);
    }
    pos += width;
  }
  if (index >= 0 && index <= MAX_ARRAY_INDEX) chargeIndexKey(m, index);
  else chargeNamedKey(bytes, m, place, at, pos - at, 0, true);
  return pos;
}

/**
 * A key that is a name: a property (fast for the first 16, then the object becomes a dictionary) and, if
 * new in this frame, a hidden class and the internalized name.
 */
function chargeNamedKey(bytes: Uint8Array, m: number, place: number, at: number, n: number, chars: number, raw: boolean): void {
  const count = (named[m] as number) + 1;
  named[m] = count;
  const total = namedCost(count, shared.dictionaries);
  const before = namedCharged[m] as number;
  if (total > before) {
    shared.charged += total - before;
    namedCharged[m] = total;
  }
  if (seen(bytes, at, n, raw)) return;
  if (place < 16) {
    shared.charged += COST.newFastKey + 2 * chars;
    if (++shared.newKeys > NEW_KEYS_BEFORE_DICTIONARIES) shared.dictionaries = true;
  } else {
    shared.charged += COST.newDictionaryKey + 2 * chars;
  }
}

/**
 * A key that is an array index: V8 keeps it in the object's elements, a fast store sized by the largest
 * index (capacity 1.5 * (index + 1) + 16) while the keys stay dense enough, else a dictionary. This
 * follows V8's rules (JSObject::ShouldConvertToSlowElements, ShouldConvertToFastElements): a fast store
 * grows to take an index less than 1024 past its capacity, unchecked up to 5000 slots and beyond that
 * only while 9 times the hash capacity for the keys so far exceeds it; a dictionary turns fast again when
 * a store of max-index + 1 would be at most twice its size. Where V8's count is not known here (keys
 * repeated), the choice is made the costlier way. Charged: the largest fast store ever, plus the
 * dictionary if there ever was one.
 */
function chargeIndexKey(m: number, k: number): void {
  const u = (elemCount[m] as number) + 1;
  elemCount[m] = u;
  if (k > (elemMaxKey[m] as number)) elemMaxKey[m] = k;
  let c = elemCapacity[m] as number;
  let slow = elemSlow[m] as number;
  if ((slow & 1) === 0) {
    if (k >= c) {
      if (k - c >= MAX_GAP) slow |= 3;
      else {
        const grown = growCapacity(k + 1);
        if (grown <= MAX_UNCHECKED_FAST_ELEMENTS || 9 * hashCapacity(u) > grown) c = grown;
        else slow |= 3;
      }
    }
  } else {
    const wanted = (elemMaxKey[m] as number) + 1;
    if (6 * hashCapacity(2 * u) >= wanted) {
      slow &= ~1;
      c = Math.max(c, growCapacity(wanted));
    }
  }
  elemCapacity[m] = c;
  elemSlow[m] = slow;
  const total = (c > 0 ? 32 + COST.slot * c : 0) + ((slow & 2) !== 0 ? 64 + 24 * hashCapacity(2 * u) : 0);
  const before = elemCharged[m] as number;
  if (total > before) {
    shared.charged += total - before;
    elemCharged[m] = total;
  }
}

/** True if the same key bytes were seen earlier in this frame; else remembers them. */
function seen(bytes: Uint8Array, at: number, n: number, raw: boolean): boolean {
  let h = raw ? 0x9e3779b9 : 0x811c9dc5;
  for (let i = at, end = at + n; i < end; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193);
  const slot = (h ^ (h >>> 15)) & (SEEN_SIZE - 1);
  const tag = raw ? ~n : n;
  if (seenEpoch[slot] === shared.epoch && seenTag[slot] === tag) {
    const other = seenOffset[slot] as number;
    let i = 0;
    while (i < n && bytes[other + i] === bytes[at + i]) i++;
    if (i === n) return true;
  }
  seenEpoch[slot] = shared.epoch;
  seenOffset[slot] = at;
  seenTag[slot] = tag;
  return false;
}

/** The array index a string key of canonical decimal digits names, or -1. */
function digitIndex(bytes: Uint8Array, at: number, n: number): number {
  if (n === 0 || n > 10) return -1;
  const first = bytes[at] as number;
  if (first < 0x30 || first > 0x39 || (first === 0x30 && n > 1)) return -1;
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = (bytes[i] as number) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v <= MAX_ARRAY_INDEX ? v : -1;
}

/** The array index a BigInt key names (ext 0x42: msgpackr's two's complement, big-endian), or -1. */
function bigintIndex(bytes: Uint8Array, at: number, n: number): number {
  if (n === 0 || (bytes[at] as number) >= 0x80) return -1;
  for (let i = at; i < at + n - 4; i++) if (bytes[i] !== 0) return -1;
  let v = 0;
  for (let i = Math.max(at, at + n - 4); i < at + n; i++) v = v * 256 + (bytes[i] as number);
  return v;
}

/** What n named properties of one object cost: fast properties, or past 16 (or when `dictionary`) a dictionary. */
function namedCost(n: number, dictionary: boolean): number {
  if (n <= 16 && !dictionary) return COST.fastProperty * n;
  return COST.dictionaryHeader + COST.dictionaryBucket * Math.max(8, hashCapacity(n));
}

/** A Tuple of n items built by push(): JSArray::kPreallocatedArrayElements (4), then NewElementsCapacity. */
function tupleCost(n: number): number {
  let slots = 4;
  while (slots < n) slots = growCapacity(slots + 1);
  return COST.tupleHeader + COST.slot * slots;
}

/** A Set of n items: an OrderedHashSet of a power-of-two capacity, at least 4. */
function setCost(n: number): number {
  return COST.setHeader + COST.setSlot * Math.max(4, powerOfTwoAtLeast(n));
}

/** V8's HashTable::ComputeCapacity: the power of two at or above 1.5 n, at least 4. */
function hashCapacity(n: number): number {
  return Math.max(4, powerOfTwoAtLeast(n + Math.floor(n / 2)));
}

/** V8's JSObject::NewElementsCapacity. */
function growCapacity(n: number): number {
  return n + Math.floor(n / 2) + 16;
}

function powerOfTwoAtLeast(n: number): number {
  if (n <= 1) return 1;
  return n <= 0x80000000 ? 2 ** (32 - Math.clz32(n - 1)) : 2 ** Math.ceil(Math.log2(n));
}

function truncated(at: number): MalformedMsgpackError {
  return new MalformedMsgpackError('truncated: the frame ends inside a value', at);
}

function tooDeep(maxDepth: number, depth: number, at: number): DecodeBudgetError {
  return new DecodeBudgetError('maxDepth', `a msgpack frame nests deeper than maxDepth (${maxDepth}): a level-${depth} container begins at byte ${at}`, {
    actual: depth,
    allowed: maxDepth,
    offset: at,
  });
}

function overBudget(budget: DecodeBudget | undefined, len: number, cost: number, allowed: number, at: number): DecodeBudgetError {
  const floor = budget?.decodeAllocationFloor ?? 0;
  const factor = budget?.decodeAllocationFactor ?? 0;
  return new DecodeBudgetError(
    'decodeAllocationFactor',
    `decoding a msgpack frame of ${len} bytes would allocate more than its budget ` +
      `(${fmt(allowed)} = decodeAllocationFloor ${fmt(floor)} + decodeAllocationFactor ${factor} x ${len} bytes): ` +
      `the estimate had reached ${fmt(cost)} at byte ${at}`,
    { actual: cost, allowed, offset: at },
  );
}

function fmt(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  return `${(bytes / (1024 * 1024 * 1024)).toFixed(2)} GiB`;
}
