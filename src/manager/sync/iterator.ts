/**
 * The iterator referent hosted under the `Iterator` typeid (what `dict.__iter__` returns; CPython's
 * `IteratorProxy`), and the live-key iteration dict and set share.
 */
import { PyRuntimeError, StopIteration } from '../../python-errors.js';
import { PY_REPR } from '../../python-repr.js';

type Step = IteratorResult<unknown, unknown>;

/**
 * A hosted iterator (typeid `Iterator`, CPython's IteratorProxy: `__next__`, `send`, `throw`, `close`).
 * Wraps a JS iterator, a generator or an async iterator; the end is `StopIteration`, as Python's.
 */
export class PyIterator {
  readonly #it: Iterator<unknown, unknown, unknown> | AsyncIterator<unknown, unknown, unknown>;
  #done = false;

  constructor(source: Iterable<unknown> | AsyncIterable<unknown> | Iterator<unknown> | AsyncIterator<unknown>) {
    const s = source as Partial<Iterable<unknown> & AsyncIterable<unknown>>;
    const sync = s[Symbol.iterator];
    const async = s[Symbol.asyncIterator];
    if (typeof sync === 'function') this.#it = sync.call(source);
    else if (typeof async === 'function') this.#it = async.call(source);
    else this.#it = source as Iterator<unknown>;
  }

  __next__(): unknown {
    return this.send(undefined);
  }

  /** Resumes a generator with `value` (a plain iterator ignores it). */
  send(value: unknown): unknown {
    if (this.#done) throw new StopIteration();
    return this.#step(() => this.#it.next(value));
  }

  /** Raises `error` inside a generator; returns what it yields next. */
  throw(error: unknown): unknown {
    if (this.#done || typeof this.#it.throw !== 'function') {
      this.#done = true;
      throw error;
    }
    const it = this.#it;
    return this.#step(() => (it.throw as (e: unknown) => Step | Promise<Step>)(error));
  }

  close(): void | Promise<void> {
    if (this.#done) return;
    this.#done = true;
    const r = this.#it.return?.();
    if (r && typeof (r as Promise<Step>).then === 'function') return (r as Promise<Step>).then(() => undefined);
  }

  #step(advance: () => Step | Promise<Step>): unknown {
    // An error leaves the iterator as it is: a generator that threw is finished by itself, while a dict
    // iterator keeps raising its RuntimeError, as in Python.
    const r = advance();
    if (typeof (r as Promise<Step>).then === 'function') return (r as Promise<Step>).then((step) => this.#result(step));
    return this.#result(r as Step);
  }

  #result(step: Step): unknown {
    if (!step.done) return step.value;
    this.#done = true;
    throw step.value === undefined ? new StopIteration() : new StopIteration(step.value);
  }

  [PY_REPR](): string {
    return '<iterator object>';
  }
}

/**
 * Iterates a hash table's live entries as CPython's dict and set iterators do: a change of size, or of the
 * keys at the same size, raises `RuntimeError`, and keeps raising it (as CPython's does).
 */
export function liveKeys<E>(table: Map<string, E>, version: () => number, kind: 'dictionary' | 'Set', pick: (e: E) => unknown): Iterator<unknown> {
  const size = table.size;
  const start = version();
  const entries = table.values();
  let failure: PyRuntimeError | null = null;
  let done = false;
  return {
    next(): IteratorResult<unknown> {
      if (failure) throw failure;
      if (done) return { done: true, value: undefined };
      if (table.size !== size) failure = new PyRuntimeError(`${kind} changed size during iteration`);
      else if (version() !== start) failure = new PyRuntimeError(`${kind === 'dictionary' ? 'dictionary keys' : 'Set'} changed during iteration`);
      if (failure) throw failure;
      const r = entries.next();
      if (r.done) {
        done = true;
        return { done: true, value: undefined };
      }
      return { done: false, value: pick(r.value) };
    },
  };
}
