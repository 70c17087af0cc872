// dynalite on its own thread (see startDynalite's `thread` option): the local database then uses the
// second core instead of sharing the event loop with the API it serves, as DynamoDB is elsewhere in AWS.
// It answers HTTP on 127.0.0.1 (other processes: the admin tools, `aws dynamodb --endpoint-url`) and, for
// the process that started it, requests posted on the worker port (no socket, no HTTP parsing on either
// side: the SDK's request, serialized and signed as for AWS, handed to dynalite's own request handler).
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';

const { path, port } = workerData ?? {};
if (path) mkdirSync(path, { recursive: true });
const server = dynalite({ ...(path ? { path } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.once('error', (error) => parentPort.postMessage({ error: String(error) }));
server.listen(port ?? 0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));

/** One posted request through dynalite's request handler, with the request/response surface it uses. */
const handle = (m) => {
  const req = Object.assign(new EventEmitter(), { method: m.method, url: m.path, headers: m.headers });
  const headers = {};
  const res = {
    statusCode: 200,
    setHeader: (name, value) => {
      headers[String(name).toLowerCase()] = String(value);
    },
    end: (body) => {
      // A string goes as a string (a small Buffer would copy the whole 8 KB pool slab it is a view of).
      parentPort.postMessage({ id: m.id, statusCode: res.statusCode, headers, body: body ?? '' });
    },
  };
  server.emit('request', req, res);
  if (m.body?.length)
    req.emit(
      'data',
      typeof m.body === 'string'
        ? Buffer.from(m.body)
        : Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength),
    );
  req.emit('end');
};

parentPort.on('message', (message) => {
  if (message?.type === 'request') {
    try {
      handle(message);
    } catch (e) {
      parentPort.postMessage({ id: message.id, error: String(e) });
    }
    return;
  }
  if (message !== 'close') return;
  server.closeAllConnections?.();
  server.close(() => parentPort.close());
});
