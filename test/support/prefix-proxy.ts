import { createServer, request as httpRequest, type Server } from 'node:http';

/**
 * A reverse proxy on a loopback port serving `upstream` under `prefix`: it strips the prefix from each
 * path and says so in X-Forwarded-Prefix, as nginx or a Kubernetes ingress would. Paths outside the
 * prefix are 404. `url` is the proxy's base URL with the prefix.
 */
export async function startPrefixProxy(upstream: string, prefix: string): Promise<{ url: string; server: Server }> {
  const target = new URL(upstream);
  const server = createServer((req, res) => {
    if (!req.url?.startsWith(`${prefix}/`)) {
      res.statusCode = 404;
      return res.end();
    }
    const forward = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url.slice(prefix.length),
        headers: { ...req.headers, 'x-forwarded-prefix': prefix },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}${prefix}`, server };
}
