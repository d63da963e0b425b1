import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Router, type Request, type Response } from 'express';
import type { AppDeps } from './app.ts';
import { sendProblem } from './problem.ts';

// The OpenAPI document (/openapi.json, and /api/v1/openapi.json beside the API it describes) and an
// interactive docs page at /docs. The page is Swagger UI from the swagger-ui-dist package, served by
// this app: nothing is loaded from another origin, so it works offline and under helmet's CSP
// (script-src 'self': the start-up script is a file, not inline). All URLs on the page are
// relative, so it also works behind a proxy that serves the app under a path prefix.

const swaggerDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

const assets: Record<string, { file?: string; type: string; body?: string }> = {
  'swagger-ui.css': { file: 'swagger-ui.css', type: 'text/css' },
  'swagger-ui-bundle.js': { file: 'swagger-ui-bundle.js', type: 'text/javascript' },
  'swagger-ui-standalone-preset.js': { file: 'swagger-ui-standalone-preset.js', type: 'text/javascript' },
  'favicon-32x32.png': { file: 'favicon-32x32.png', type: 'image/png' },
  'init.js': {
    type: 'text/javascript',
    body: `window.addEventListener('load', function () {
  var root = document.getElementById('swagger-ui');
  window.ui = SwaggerUIBundle({
    url: new URL(root.getAttribute('data-spec'), document.baseURI).href,
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
    validatorUrl: null,
    persistAuthorization: false
  });
});
`,
  },
};

const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Blog Poster API</title>
  <link rel="stylesheet" href="docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui" data-spec="openapi.json"></div>
  <script src="docs/assets/swagger-ui-bundle.js"></script>
  <script src="docs/assets/swagger-ui-standalone-preset.js"></script>
  <script src="docs/assets/init.js"></script>
</body>
</html>
`;

export function docsRoutes(deps: Pick<AppDeps, 'config'>): Router {
  const router = Router();
  // Built and serialised once per app: the document only changes with the code. Its module (every response schema)
  // is loaded by the first request for it, not at start.
  let document: Promise<string> | undefined;
  const openapi = () =>
    (document ??= import('./openapi.ts')
      .then(({ buildOpenApiDocument }) => JSON.stringify(buildOpenApiDocument(deps.config)))
      .catch((err: unknown) => {
        document = undefined;
        throw err;
      }));

  const serveDocument = async (_req: Request, res: Response) => {
    const body = await openapi();
    res.setHeader('Cache-Control', 'no-cache');
    res.type('json').send(body);
  };
  router.get('/openapi.json', serveDocument);
  router.get('/api/v1/openapi.json', serveDocument);

  router.get('/docs', (req, res) => {
    // `/docs/` would make the relative asset URLs resolve under /docs/docs/.
    if (req.path.endsWith('/')) return res.redirect(301, '../docs');
    res.type('html').setHeader('Cache-Control', 'no-cache');
    res.send(page);
  });

  router.get('/docs/assets/:file', (req, res) => {
    const asset = Object.hasOwn(assets, req.params.file) ? assets[req.params.file] : undefined;
    if (!asset) return sendProblem(res, 404, 'Not Found', { detail: `no docs asset ${req.params.file}` });
    res.type(asset.type).setHeader('Cache-Control', 'public, max-age=3600');
    if (asset.body !== undefined) return res.send(asset.body);
    res.sendFile(join(swaggerDir, asset.file!));
  });

  return router;
}
