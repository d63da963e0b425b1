import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { AppViewRoute } from '@bull-board/api/typings/app';
import { ExpressAdapter } from '@bull-board/express';
import type { Request, Response, Router } from 'express';
import type { AppDeps } from './app.ts';

// Bull Board itself, loaded by the console's first request (./bull-board.ts decides who may see it).

/** Bull Board's router for every queue, read-only when BULL_BOARD_READ_ONLY is set. */
export function boardRouter(deps: AppDeps): Router {
  const { config } = deps;
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

  return serverAdapter.getRouter() as Router;
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
