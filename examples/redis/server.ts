// One of any number of servers on the same Redis: npx tsx examples/redis/server.ts PORT [REDIS_URL]
// (REDIS_URL: redis://127.0.0.1:6379 by default, or a Unix socket path).
import { RedisObjects, formatAddress } from 'mpmanager';
import { AUTHKEY, JobManager, registerJobs } from './jobs.js';

const [port = '5001', url = 'redis://127.0.0.1:6379'] = process.argv.slice(2);
const store = await RedisObjects.connect(url);
registerJobs(store);
const server = await new JobManager(['127.0.0.1', Number(port)], { authkey: AUTHKEY }).getServer();
const stop = () => void server.shutdown();
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
console.log(`listening on ${formatAddress(server.address)}, objects in ${store.url}`);
await server.serveForever();
await store.close();
