/**
 * The baseline: the least a proxy can do. Every request is passed to UPSTREAM with undici (pooled,
 * keep-alive, like Tollgate's) and the answer streamed back untouched: no auth, no parsing, no money.
 *   UPSTREAM=http://127.0.0.1:4010 PORT=4020 node --import tsx bench/bare-proxy.ts
 */
import { createServer } from 'node:http';
import { Agent, request } from 'undici';

const upstream = process.env.UPSTREAM ?? 'http://127.0.0.1:4010';
const agent = new Agent({ keepAliveTimeout: 30_000, connections: 256 });

const server = createServer((req, res) => {
  request(`${upstream}${req.url ?? '/'}`, {
    method: req.method as 'GET' | 'POST',
    dispatcher: agent,
    headers: {
      authorization: req.headers.authorization ?? '',
      'content-type': req.headers['content-type'] ?? 'application/json',
    },
    body: req.method === 'GET' ? undefined : req,
  }).then(
    (answer) => {
      res.writeHead(answer.statusCode, {
        'content-type': String(answer.headers['content-type'] ?? 'application/json'),
      });
      answer.body.pipe(res);
    },
    (error: Error) => {
      res.writeHead(502).end(error.message);
    },
  );
});

server.listen(Number(process.env.PORT ?? 4020), '127.0.0.1', () => console.log('bare proxy ready'));
