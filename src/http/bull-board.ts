import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { AppViewRoute } from '@bull-board/api/typings/app';
import { ExpressAdapter } from '@bull-board/express';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { operatorCredentials } from '../auth/operator.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { AppDeps } from './app.ts';
import { sendProblem } from './problem.ts';

/**
 * The operator console: Bull Board for every queue at /admin/queues.
 *
 * - Auth: `Authorization: Bearer <OPERATOR_TOKEN>` for tools, HTTP basic auth for browsers
 *   (OPERATOR_USER/OPERATOR_PASSWORD, or any user name with OPERATOR_TOKEN as the password).
 * - With no operator credentials configured the board is not mounted (404), except in development on
 *   a loopback HOST, where it is open and a warning says so at start.
 * - BULL_BOARD_READ_ONLY: the board shows everything and changes nothing (retry, clean, remove,
 *   pause and add are refused by Bull Board and, as a second guard, any non-GET request here).
 * - Behind a reverse proxy that strips a path prefix, the page's base URL carries the prefix: from
 *   X-Forwarded-Prefix when the proxy is trusted ('trust proxy'), else from BASE_PATH.
 */
export function bullBoardRoutes(deps: AppDeps): Router {
  const { config, logger } = deps;
  const router = Router();
  const access = accessMode(config);
  if (access === 'disabled') {
    logger.warn('Bull Board (/admin/queues) is not mounted: set OPERATOR_TOKEN or OPERATOR_USER and OPERATOR_PASSWORD');
    router.use((req, res) =>
      sendProblem(res, 404, 'Not Found', {
        detail: 'the operator console is disabled: no operator credentials are configured',
      }),
    );
    return router;
  }
  if (access === 'open') {
    logger.warn('Bull Board (/admin/queues) is open WITHOUT authentication: development on a loopback address only');
  }

  const serverAdapter = new PrefixAwareExpressAdapter();
  createBullBoard({
    queues: deps.queues.all().map(
      (queue) =>
        new BullMQAdapter(queue, {
          readOnlyMode: config.BULL_BOARD_READ_ONLY,
          allowRetries: !config.BULL_BOARD_READ_ONLY,
        }),
    ),
    // @bull-board/express pins its own copy of @bull-board/api's types (one patch version behind);
    // at run time the adapter only needs the routes and queues it is handed.
    serverAdapter: serverAdapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
    options: { uiConfig: { boardTitle: 'Blog Poster' } },
  });

  router.use((req, res, next) => {
    // The page and its API stay on this origin: no web fonts or scripts from elsewhere.
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'self'; frame-ancestors 'none'",
    );
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  if (access === 'authenticated') router.use(operatorAuth(config, logger));
  if (config.BULL_BOARD_READ_ONLY) {
    router.use((req, res, next) => {
      if (req.method === 'GET' || req.method === 'HEAD') return next();
      sendProblem(res, 403, 'Read-only', { detail: 'the operator console is read-only (BULL_BOARD_READ_ONLY)' });
    });
  }
  router.use((req, res, next) => {
    res.locals.publicPrefix = publicPrefix(req, config);
    next();
  });
  router.use(serverAdapter.getRouter());
  return router;
}

type AccessMode = 'authenticated' | 'open' | 'disabled';

export function accessMode(config: Config): AccessMode {
  if (config.OPERATOR_TOKEN || (config.OPERATOR_USER && config.OPERATOR_PASSWORD)) return 'authenticated';
  const loopback = ['127.0.0.1', '::1', 'localhost'].includes(config.HOST);
  return config.NODE_ENV === 'development' && loopback ? 'open' : 'disabled';
}

function operatorAuth(config: Config, logger: Logger) {
  const operator = operatorCredentials(config);
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    if (operator.check(header) !== null) return next();
    if (header) logger.warn({ path: req.originalUrl, ip: req.ip }, 'operator console: refused credentials');
    sendProblem(res, 401, 'Unauthorized', {
      detail: 'operator credentials required',
      errors: [
        { field: 'Authorization', message: header ? 'wrong operator credentials' : 'missing operator credentials' },
      ],
      // Basic first: browsers show their login prompt for it.
      headers: { 'WWW-Authenticate': 'Basic realm="blog-poster operators", charset="UTF-8"' },
    });
  };
}

const prefixPattern = /^(\/[A-Za-z0-9._~-]+)+$/;

/** The path prefix the browser sees in front of this app's own paths ('' when served at the root). */
function publicPrefix(req: Request, config: Config): string {
  const forwarded = req.get('x-forwarded-prefix')?.replace(/\/+$/, '');
  const trust = req.app.get('trust proxy fn') as ((addr: string, i: number) => boolean) | undefined;
  if (forwarded !== undefined && trust?.(req.socket.remoteAddress ?? '', 0)) {
    if (forwarded === '' || prefixPattern.test(forwarded)) return forwarded;
  }
  return config.BASE_PATH ?? '';
}

/**
 * Bull Board renders its page with one fixed base URL; this adapter renders it per request, from
 * the prefix the proxy reports and the path the board is mounted at, so one process serves the
 * board correctly both directly and behind a prefix-stripping proxy.
 */
class PrefixAwareExpressAdapter extends ExpressAdapter {
  override setEntryRoute(routeDef: AppViewRoute): ExpressAdapter {
    this.app[routeDef.method](routeDef.route, (req: Request, res: Response) => {
      const prefix = typeof res.locals.publicPrefix === 'string' ? res.locals.publicPrefix : '';
      const { name, params } = routeDef.handler({ basePath: `${prefix}${req.baseUrl}`, uiConfig: this.uiConfig });
      res.render(name, params);
    });
    return this;
  }
}
