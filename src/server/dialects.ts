/**
 * The dialects a server speaks, in the order it tries them on a connection's first frame: the native
 * hello is a msgpack array beginning with its magic; anything else that is a pickle is CPython's.
 */
import { classicDialect } from './classic-session.js';
import { nativeDialect } from './native-session.js';
import type { Dialect } from './session.js';

export const DIALECTS: readonly Dialect[] = Object.freeze([nativeDialect, classicDialect]);
