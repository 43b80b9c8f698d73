/**
 * Proxy typing, as comlink's `Remote<T>`: every exposed member of the referent becomes an async method.
 */

/** A method's remote form: same parameters, a promise of the (awaited) result. */
export type RemoteMethod<F> = F extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;

/** The callable members of `T` whose names are in `K`, as async methods. */
export type Remote<T, K extends keyof T = keyof T> = {
  readonly [P in K as T[P] extends (...args: any[]) => any ? (P extends `_${string}` ? never : P) : never]: RemoteMethod<T[P]>;
};

/** Exactly the callable members of `T` named in `K`, '_' names included: a registration's explicit `exposed` list. */
export type ExposedRemote<T, K extends PropertyKey> = {
  readonly [P in K & keyof T as T[P] extends (...args: any[]) => any ? P : never]: RemoteMethod<T[P]>;
};

/** Methods of a referent type whose names do not start with '_' (what CPython exposes by default). */
export type PublicMethodNames<T> = {
  [P in keyof T]: T[P] extends (...args: any[]) => any ? (P extends `_${string}` ? never : P) : never;
}[keyof T];
