// Reads the board, and sets an entry first if given one: npx tsx examples/browser/client.ts PORT [KEY VALUE]
// It connects over WebSocket, as the page does (Node clients send no Origin, so allowedOrigins lets them in).
import { BaseManager, DictProxy } from 'mpmanager';

const AUTHKEY = process.env.MPM_AUTHKEY ?? 'board-secret';

const [port = '8000', key, value] = process.argv.slice(2);
const manager = new BaseManager(`ws://127.0.0.1:${port}/mpm`, { authkey: AUTHKEY }).register('board', null, { proxytype: DictProxy });
await manager.connect();
const board = await manager.board();
if (key !== undefined) await board.set(key, value ?? '');
console.log(`board: ${JSON.stringify(Object.fromEntries(await board.items()))}`);
await manager.shutdown();
