/**
 * Pickle opcodes, protocols 0 to 5, named as in CPython's `Lib/pickle.py` and documented in
 * `Lib/pickletools.py` (which gives each opcode's argument format and the protocol that introduced it).
 *
 *   proto  opcodes added
 *   0      text opcodes: INT, LONG, STRING, UNICODE, FLOAT, GET/PUT, DICT, LIST, TUPLE, INST, ...
 *   1      binary forms: BININT*, BINFLOAT, BINSTRING, BINUNICODE, EMPTY_*, APPENDS, SETITEMS, BINGET/BINPUT, OBJ
 *   2      PROTO, NEWOBJ, EXT1/2/4, TUPLE1/2/3, NEWTRUE/NEWFALSE, LONG1/LONG4
 *   3      BINBYTES, SHORT_BINBYTES
 *   4      SHORT_BINUNICODE, BINUNICODE8, BINBYTES8, EMPTY_SET, ADDITEMS, FROZENSET, NEWOBJ_EX,
 *          STACK_GLOBAL, MEMOIZE, FRAME (PEP 3154)
 *   5      BYTEARRAY8, NEXT_BUFFER, READONLY_BUFFER (PEP 574)
 */
export const Op = {
  MARK: 0x28, // '('  push the mark
  STOP: 0x2e, // '.'  end of pickle, the top of the stack is the value
  POP: 0x30, // '0'  discard the top of the stack
  POP_MARK: 0x31, // '1'  discard everything down to and including the topmost mark
  DUP: 0x32, // '2'  push the top of the stack again
  FLOAT: 0x46, // 'F'  float as a decimal line
  INT: 0x49, // 'I'  int as a decimal line ('I00' / 'I01' are False / True)
  BININT: 0x4a, // 'J'  4-byte signed little-endian int
  BININT1: 0x4b, // 'K'  1-byte unsigned int
  LONG: 0x4c, // 'L'  int as a decimal line with an optional 'L' suffix
  BININT2: 0x4d, // 'M'  2-byte unsigned little-endian int
  NONE: 0x4e, // 'N'
  PERSID: 0x50, // 'P'  persistent id as a line
  BINPERSID: 0x51, // 'Q'  persistent id from the stack
  REDUCE: 0x52, // 'R'  callable(*args)
  STRING: 0x53, // 'S'  Python 2 str as a quoted, escaped line
  BINSTRING: 0x54, // 'T'  Python 2 str, 4-byte signed length
  SHORT_BINSTRING: 0x55, // 'U'  Python 2 str, 1-byte length
  UNICODE: 0x56, // 'V'  str as a raw-unicode-escape line
  BINUNICODE: 0x58, // 'X'  str as UTF-8, 4-byte length
  APPEND: 0x61, // 'a'
  BUILD: 0x62, // 'b'  __setstate__ / __dict__.update
  GLOBAL: 0x63, // 'c'  module and name as two lines
  DICT: 0x64, // 'd'  dict from the items since the mark
  APPENDS: 0x65, // 'e'
  GET: 0x67, // 'g'  memo index as a decimal line
  BINGET: 0x68, // 'h'  1-byte memo index
  INST: 0x69, // 'i'  module and name lines, then class(*items since the mark)
  LONG_BINGET: 0x6a, // 'j'  4-byte memo index
  LIST: 0x6c, // 'l'  list from the items since the mark
  OBJ: 0x6f, // 'o'  class and args since the mark
  PUT: 0x70, // 'p'  memo index as a decimal line
  BINPUT: 0x71, // 'q'  1-byte memo index
  LONG_BINPUT: 0x72, // 'r'  4-byte memo index
  SETITEM: 0x73, // 's'
  TUPLE: 0x74, // 't'  tuple from the items since the mark
  SETITEMS: 0x75, // 'u'
  EMPTY_TUPLE: 0x29, // ')'
  EMPTY_LIST: 0x5d, // ']'
  EMPTY_DICT: 0x7d, // '}'
  BINFLOAT: 0x47, // 'G'  8-byte big-endian IEEE 754 double
  BINBYTES: 0x42, // 'B'  bytes, 4-byte length
  SHORT_BINBYTES: 0x43, // 'C'  bytes, 1-byte length
  PROTO: 0x80,
  NEWOBJ: 0x81, // cls.__new__(cls, *args)
  EXT1: 0x82, // extension registry (copyreg), refused here
  EXT2: 0x83,
  EXT4: 0x84,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a, // int, 1-byte length, two's complement little-endian
  LONG4: 0x8b, // int, 4-byte signed length
  SHORT_BINUNICODE: 0x8c, // str, 1-byte length
  BINUNICODE8: 0x8d, // str, 8-byte length
  BINBYTES8: 0x8e, // bytes, 8-byte length
  EMPTY_SET: 0x8f,
  ADDITEMS: 0x90,
  FROZENSET: 0x91,
  NEWOBJ_EX: 0x92, // cls.__new__(cls, *args, **kwargs)
  STACK_GLOBAL: 0x93, // module and name from the stack
  MEMOIZE: 0x94, // memo[len(memo)] = top of the stack
  FRAME: 0x95, // 8-byte length of the frame that follows (a hint for buffered readers)
  BYTEARRAY8: 0x96, // bytearray, 8-byte length
  NEXT_BUFFER: 0x97, // out-of-band buffer, refused here
  READONLY_BUFFER: 0x98,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/** The newest protocol this codec reads; CPython 3.8+ writes up to 5 (3.14 by default). */
export const HIGHEST_PROTOCOL = 5;
/** The protocol this codec writes: every CPython 3.4+ reads it, and 3.8 to 3.13 write it by default. */
export const WRITE_PROTOCOL = 4;

/** Names by opcode byte, for error messages. */
export const OP_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(Op).map(([name, code]) => [code, name]));

/** `'('`, the name used in messages for an opcode byte, known or not. */
export function opName(code: number): string {
  return OP_NAMES.get(code) ?? `0x${code.toString(16).padStart(2, '0')}`;
}
