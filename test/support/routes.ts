import type express from 'express';

export type MountedRoute = { method: string; path: string };

type Layer = {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: Layer[]; router?: { stack?: Layer[] } };
  rawPath?: unknown;
};

/**
 * Every route mounted in an Express 5 app, read from its router stack at run time, so routes added
 * later (by any area of the API) are covered without editing a list.
 */
export function mountedRoutes(app: express.Express): MountedRoute[] {
  const found: MountedRoute[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = [layer.route.path].flat(Infinity);
        for (const path of paths) {
          if (typeof path !== 'string')
            throw new Error(`a route with a non-string path under ${prefix}: give the matrix a rule for it`);
          for (const [method, on] of Object.entries(layer.route.methods)) {
            if (on && method !== '_all') found.push({ method: method.toUpperCase(), path: `${prefix}${path}` });
          }
        }
        continue;
      }
      // A mounted router (Router()) keeps its stack on itself, a mounted app on its router.
      const inner = layer.handle?.stack ?? layer.handle?.router?.stack;
      if (inner)
        walk(inner, prefix + (typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : ''));
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  const seen = new Set<string>();
  return found.filter((r) => {
    const key = `${r.method} ${r.path}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Fills a route template's parameters (`/posts/:id`) from a map. */
export function fillPath(template: string, params: Record<string, string>): string {
  return template.replace(/:([A-Za-z_]+)/g, (_m, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`no value for :${name} in ${template}`);
    return encodeURIComponent(value);
  });
}
