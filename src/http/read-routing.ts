import type { RequestHandler } from 'express';
import type { Db } from '../db/pool.ts';
import type { ReadRouting } from '../db/replicas.ts';

declare module 'express-serve-static-core' {
  interface Request {
    /** Where this request's reads go: a read replica when one has the tenant's writes, else the primary. */
    readDb: Db;
  }
}

/**
 * Mounted after authentication. Reads (GET, HEAD) get a replica from the routing, by tenant; any other
 * method pins the tenant to the primary while it runs, and once answered its WAL position is what a
 * replica must have replayed before the tenant reads from it again (src/db/replicas.ts).
 */
export function readRouting(deps: { db: Db; reads?: ReadRouting | null | undefined }): RequestHandler {
  return (req, res, next) => {
    const reads = deps.reads;
    req.readDb = deps.db;
    if (!reads) return next();
    const caller = req.tenantId;
    if (req.method === 'GET' || req.method === 'HEAD') {
      req.readDb = reads.reader(caller);
      return next();
    }
    reads.beginWrite(caller);
    res.on('finish', () => void reads.endWrite(caller));
    next();
  };
}
