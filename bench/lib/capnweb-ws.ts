/**
 * capnweb over a `ws` WebSocket, for the peer rows. capnweb's own `newWebSocketRpcSession` reads the
 * global `WebSocket` (for `WebSocket.CONNECTING`), which Node 20 does not have, so both ends give an
 * `RpcSession` this transport instead: capnweb's `RpcTransport` (`send`, `receive`, `abort`), one text
 * message per capnweb message, as capnweb's WebSocketTransport sends them.
 */
import type { RpcTransport } from 'capnweb';
import type { WebSocket } from 'ws';

export class WsRpcTransport implements RpcTransport {
  readonly #ws: WebSocket;
  readonly #queue: string[] = [];
  #waiting: { resolve(message: string): void; reject(error: unknown): void } | null = null;
  #error: Error | null = null;

  /** `ws` must be open. */
  constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.#fail(new TypeError('capnweb sends text messages; got a binary one'));
      else this.#deliver(data.toString('utf8'));
    });
    ws.on('close', (code, reason) => this.#fail(new Error(`the peer closed the WebSocket: ${code} ${reason.toString()}`)));
    ws.on('error', (err) => this.#fail(err));
  }

  send(message: string): void {
    this.#ws.send(message);
  }

  receive(): Promise<string> {
    const next = this.#queue.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.#error !== null) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => (this.#waiting = { resolve, reject }));
  }

  abort(reason: unknown): void {
    this.#ws.close(3000, (reason instanceof Error ? reason.message : String(reason)).slice(0, 120));
    this.#fail(reason instanceof Error ? reason : new Error(String(reason)));
  }

  #deliver(message: string): void {
    const waiting = this.#waiting;
    if (waiting === null) this.#queue.push(message);
    else {
      this.#waiting = null;
      waiting.resolve(message);
    }
  }

  #fail(error: Error): void {
    if (this.#error !== null) return;
    this.#error = error;
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.reject(error);
  }
}
