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
    router.use((_req, res) =>
      sendProblem(res, 404, 'Not Found', {
        detail: 'the operator console is disabled: no operator credentials are configured',
      }),
    );
    return router;
  }
  if (access === 'open') {
    logger.warn('Bull Board (/admin/queues) is open WITHOUT authentication: development on a loopback address only');
  }

  router.use((_req, res, next) => {
    // The page and its API stay on this origin: no web fonts or scripts from elsewhere.
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri " +
        "'self'; frame-ancestors 'none'",
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
  // Bull Board and its page (about 20 MiB resident) are loaded by the console's first request, not at start-up.
  // Its entry page is a route of its own here, so that the router's stack shows the console is mounted.
  let board: Promise<Router> | undefined;
  const toBoard = (req: Request, res: Response, next: NextFunction) => {
    board ??= import('./bull-board-ui.ts').then((ui) => ui.boardRouter(deps));
    board.then(
      (handle) => handle(req, res, next),
      (err: unknown) => {
        board = undefined;
        next(err);
      },
    );
  };
  router.get('/', toBoard);
  router.use(toBoard);
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
