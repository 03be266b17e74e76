import * as http from 'node:http';
import type { Registry } from 'prom-client';

/**
 * GET /metrics (Prometheus text format) and GET /healthz (200 once listeners
 * are open and a table is published, 503 otherwise), on the main thread. `where` is an
 * address to bind, or the listening socket a live upgrade's old process handed over.
 */
export function serveMetrics(registry: Registry, healthy: () => boolean, where: { host: string; port: number } | { fd: number }): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
    } else if (path === '/healthz') {
      const ok = healthy();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try /metrics or /healthz\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    if ('fd' in where) server.listen({ fd: where.fd }, () => resolve(server));
    else server.listen(where.port, where.host, () => resolve(server));
  });
}
