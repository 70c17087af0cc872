// dynalite on its own thread (see startDynalite's `thread` option): the local database then uses the
// second core instead of sharing the event loop with the API it serves, as DynamoDB is elsewhere in AWS.
import { mkdirSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';

const { path, port } = workerData ?? {};
if (path) mkdirSync(path, { recursive: true });
const server = dynalite({ ...(path ? { path } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.once('error', (error) => parentPort.postMessage({ error: String(error) }));
server.listen(port ?? 0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (message) => {
  if (message !== 'close') return;
  server.closeAllConnections?.();
  server.close(() => parentPort.close());
});
