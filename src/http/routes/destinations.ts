import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../app.ts';
import {
  configSchemas,
  createDestination,
  createDestinationSchema,
  deleteDestination,
  DestinationConflictError,
  destinationView,
  getDestination,
  listDestinations,
  updateDestination,
  updateDestinationSchema,
} from '../../publish/destinations.ts';
import { envSecretFieldErrors } from '../../publish/credentials.ts';
import { replanAfterCadenceChange } from '../../publish/post-actions.ts';
import { type FieldError, sendProblem, zodFieldErrors } from '../problem.ts';

const uuid = z.uuid();

/**
 * Destinations of the caller's tenant: where its posts are published. Configs name secrets' variables, never values.
 */
export function destinationRoutes({ db, queues }: AppDeps): Router {
  const router = Router();

  router.get('/destinations', async (req, res) => {
    const items = await listDestinations(db, req.tenantId);
    res.json({ items: items.map(destinationView) });
  });

  router.post('/destinations', async (req, res) => {
    if (!requireJson(req, res)) return;
    const parsed = createDestinationSchema.safeParse(req.body);
    if (!parsed.success) return sendProblem(res, 422, 'Invalid destination', { errors: zodFieldErrors(parsed.error) });
    if (!mayNameSecrets(req, res, parsed.data.config)) return;
    try {
      const created = await createDestination(db, req.tenantId, parsed.data);
      res.status(201).location(`/api/v1/destinations/${created.id}`).json(destinationView(created));
    } catch (err) {
      if (err instanceof DestinationConflictError)
        return sendProblem(res, 409, 'Conflict', {
          detail: err.message,
          errors: [{ field: 'name', message: err.message }],
        });
      throw err;
    }
  });

  router.get('/destinations/:id', async (req, res) => {
    const id = String(req.params.id);
    const found = uuid.safeParse(id).success ? await getDestination(db, req.tenantId, id) : null;
    if (!found) return sendProblem(res, 404, 'Not Found', { detail: `no destination ${id}` });
    res.json(destinationView(found));
  });

  router.patch('/destinations/:id', async (req, res) => {
    if (!requireJson(req, res)) return;
    const id = String(req.params.id);
    const existing = uuid.safeParse(id).success ? await getDestination(db, req.tenantId, id) : null;
    if (!existing) return sendProblem(res, 404, 'Not Found', { detail: `no destination ${id}` });
    const parsed = updateDestinationSchema.safeParse(req.body);
    if (!parsed.success) return sendProblem(res, 422, 'Invalid destination', { errors: zodFieldErrors(parsed.error) });
    let config: unknown;
    if (parsed.data.config !== undefined) {
      const checked = configSchemas[existing.kind].safeParse(parsed.data.config);
      if (!checked.success)
        return sendProblem(res, 422, 'Invalid destination', { errors: zodFieldErrors(checked.error, 'config') });
      config = checked.data;
      if (!mayNameSecrets(req, res, config)) return;
    }
    try {
      const updated = await updateDestination(db, req.tenantId, id, {
        ...(parsed.data.name !== undefined ? { name: parsed.data.name } : {}),
        ...(config !== undefined ? { config } : {}),
        ...(parsed.data.isDefault !== undefined ? { isDefault: parsed.data.isDefault } : {}),
      });
      if (!updated) return sendProblem(res, 404, 'Not Found', { detail: `no destination ${id}` });
      // A new cadence re-plans the posts the old one had planned and not yet published.
      const replanned =
        JSON.stringify(updated.config.cadence ?? null) !== JSON.stringify(existing.config.cadence ?? null)
          ? await replanAfterCadenceChange(db, queues, req.tenantId, id)
          : 0;
      res.json({ ...destinationView(updated), ...(replanned ? { replanned } : {}) });
    } catch (err) {
      if (err instanceof DestinationConflictError)
        return sendProblem(res, 409, 'Conflict', {
          detail: err.message,
          errors: [{ field: 'name', message: err.message }],
        });
      throw err;
    }
  });

  router.delete('/destinations/:id', async (req, res) => {
    const id = String(req.params.id);
    const deleted = uuid.safeParse(id).success && (await deleteDestination(db, req.tenantId, id));
    if (!deleted) return sendProblem(res, 404, 'Not Found', { detail: `no destination ${id}` });
    res.status(204).end();
  });

  return router;
}

/** 403 naming the field when the config names an environment secret the caller's tenant may not use. */
function mayNameSecrets(req: Request, res: Response, config: unknown): boolean {
  const errors: FieldError[] = envSecretFieldErrors(
    { slug: req.auth!.tenantSlug, operator: req.auth!.operator },
    config,
    'config',
  );
  if (errors.length === 0) return true;
  sendProblem(res, 403, 'Forbidden', { detail: errors[0]!.message, errors });
  return false;
}

/** A request that carries a body must send it as JSON. */
export function requireJson(req: Request, res: Response): boolean {
  const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
  if (hasBody && !req.is(['application/json', 'application/*+json'])) {
    sendProblem(res, 415, 'Unsupported Media Type', {
      detail: 'send the body as application/json',
      errors: [{ field: 'Content-Type', message: 'must be application/json' }],
    });
    return false;
  }
  return true;
}
