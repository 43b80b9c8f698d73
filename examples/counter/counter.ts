/** The shared class: the server hosts instances, the client imports it only for its type. */
export class Counter {
  n = 0;
  inc(by = 1): number {
    return (this.n += by);
  }
}
