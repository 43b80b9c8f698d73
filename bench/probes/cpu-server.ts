/** An mpmanager SyncManager server for cpu-per-call.sh: `cpu-server.ts ADDRESS`. Exits when stdin ends. */
import { SyncManager } from '../../src/manager/sync-manager.js';

const server = await new SyncManager(process.argv[2] ?? '', { authkey: 'probe' }).getServer();
void server.serveForever();
process.stdin.on('end', () => process.exit(0)).resume();
console.log('ready');
