import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router, type Response } from 'express';
import { sendProblem } from './problem.ts';

// The editorial console at /console: static files (./console/) that call the API from the browser.
// Nothing is rendered on the server and nothing is built: plain JavaScript modules and CSS. Every URL
// in the page is relative, so it works under BASE_PATH and behind a proxy that strips a prefix. The
// page gets a stricter policy than helmet's default: no inline script or style, nothing from another
// origin (post images included), and Trusted Types, so no HTML string reaches the DOM except through
// the one sanitising policy of the console.

const dir = fileURLToPath(new URL('./console/', import.meta.url));
const types: Record<string, string> = {
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
};
/** The console's files, read once: a request can only name one of them. */
const assets = new Map(
  readdirSync(dir)
    .filter((f) => Object.keys(types).some((ext) => f.endsWith(ext)))
    .map((f) => [f, types[f.slice(f.lastIndexOf('.'))]!]),
);

export const consoleContentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  'trusted-types console-html',
].join('; ');

function secure(res: Response): void {
  res.setHeader('Content-Security-Policy', consoleContentSecurityPolicy);
  res.setHeader('Cache-Control', 'no-cache');
}

export function consoleRoutes(): Router {
  const router = Router();

  router.get('/console', (req, res) => {
    // `/console/` would make the page's relative URLs resolve under /console/console/.
    if (req.path.endsWith('/')) return res.redirect(301, '../console');
    secure(res);
    res.type('html').sendFile(join(dir, 'index.html'));
  });

  router.get('/console/assets/:file', (req, res) => {
    const type = assets.get(req.params.file);
    if (!type) return sendProblem(res, 404, 'Not Found', { detail: `no console asset ${req.params.file}` });
    secure(res);
    res.type(type).sendFile(join(dir, req.params.file));
  });

  return router;
}
