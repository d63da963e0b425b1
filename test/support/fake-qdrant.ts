/**
 * A local stand-in for Qdrant's REST API on 127.0.0.1, for the calls @qdrant/js-client-rest makes here. It keeps
 * points in memory and scores them for real (cosine: vectors are normalised on upsert and scored by dot product,
 * as Qdrant does), with Qdrant's filter semantics for the conditions used.
 *
 *   const qdrant = await startFakeQdrant({ apiKey?: 'secret' });   // qdrant.url for QDRANT_URL
 *   qdrant.requests                     // every request: { method, path, query, body, headers }
 *   qdrant.queries()                    // the bodies of points/query and points/search requests
 *   qdrant.collections                  // name → { size, distance, points, payloadSchema }
 *   await qdrant.close();
 *
 * Endpoints: GET / (version), GET|PUT|DELETE /collections/{name}, GET /collections/{name}/exists,
 * PUT /collections/{name}/index, PUT /collections/{name}/points (list or batch form),
 * POST /collections/{name}/points/{delete,query,search,count,scroll}. Replies use Qdrant's envelope
 * ({ result, status: "ok", time }) and errors its shape ({ status: { error }, time }) with its status codes.
 * Not modelled: named/sparse vectors, prefetch, shards, snapshots, aliases.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type PointId = string | number;
type Payload = Record<string, unknown>;
type StoredPoint = { id: PointId; vector: number[]; payload: Payload };
type Collection = {
  size: number;
  distance: string;
  points: Map<string, StoredPoint>;
  payloadSchema: Record<string, unknown>;
};

export type QdrantRequest = {
  method: string;
  path: string;
  query: Record<string, string>;
  body: any;
  headers: IncomingMessage['headers'];
};

export type FakeQdrant = {
  url: string;
  requests: QdrantRequest[];
  collections: Map<string, Collection>;
  queries(): any[];
  close(): Promise<void>;
};

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export async function startFakeQdrant(opts: { apiKey?: string; version?: string } = {}): Promise<FakeQdrant> {
  const collections = new Map<string, Collection>();
  const requests: QdrantRequest[] = [];
  let operationId = 0;

  const server = createServer(async (req, res) => {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://localhost');
    let body: any = null;
    try {
      const raw = await readBody(req);
      if (raw) {
        try {
          body = JSON.parse(raw);
        } catch {
          throw new HttpError(400, 'Format error in JSON body: expected value at line 1 column 1');
        }
      }
      requests.push({
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        body,
        headers: req.headers,
      });
      if (opts.apiKey && req.headers['api-key'] !== opts.apiKey)
        throw new HttpError(401, 'Must provide an API key or an Authorization bearer token');
      const result = route(req.method ?? 'GET', url.pathname, url.searchParams, body);
      if (result === ROOT)
        return send(res, 200, {
          title: 'qdrant - vector search engine',
          version: opts.version ?? '1.13.2',
          commit: 'fake',
        });
      send(res, 200, { result, status: 'ok', time: (performance.now() - started) / 1000 });
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      send(res, status, { status: { error: (err as Error).message }, time: (performance.now() - started) / 1000 });
    }
  });

  const ROOT = Symbol('root');

  function collection(name: string): Collection {
    const c = collections.get(name);
    if (!c) throw new HttpError(404, `Not found: Collection \`${name}\` doesn't exist!`);
    return c;
  }

  function completed(params: URLSearchParams) {
    return { operation_id: ++operationId, status: params.get('wait') === 'true' ? 'completed' : 'acknowledged' };
  }

  function route(method: string, path: string, params: URLSearchParams, body: any): unknown {
    if (path === '/' && method === 'GET') return ROOT;
    const m = /^\/collections\/([^/]+)(\/.*)?$/.exec(path);
    if (!m) throw new HttpError(404, `Not found: ${path}`);
    const name = decodeURIComponent(m[1]!);
    const rest = m[2] ?? '';
    const key = `${method} ${rest}`;
    switch (key) {
      case 'GET /exists':
        return { exists: collections.has(name) };
      case 'GET ': {
        const c = collection(name);
        return {
          status: 'green',
          optimizer_status: 'ok',
          points_count: c.points.size,
          indexed_vectors_count: 0,
          segments_count: 1,
          config: {
            params: {
              vectors: { size: c.size, distance: c.distance },
              shard_number: 1,
              replication_factor: 1,
              write_consistency_factor: 1,
              on_disk_payload: true,
            },
            hnsw_config: {
              m: 16,
              ef_construct: 100,
              full_scan_threshold: 10000,
              max_indexing_threads: 0,
              on_disk: false,
            },
            optimizer_config: {
              deleted_threshold: 0.2,
              vacuum_min_vector_number: 1000,
              default_segment_number: 0,
              flush_interval_sec: 5,
            },
            wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
          },
          payload_schema: c.payloadSchema,
        };
      }
      case 'PUT ': {
        if (collections.has(name)) throw new HttpError(409, `Wrong input: Collection \`${name}\` already exists!`);
        const vectors = body?.vectors;
        if (
          !vectors ||
          typeof vectors.size !== 'number' ||
          !['Cosine', 'Dot', 'Euclid', 'Manhattan'].includes(vectors.distance)
        ) {
          throw new HttpError(422, 'Json deserialize error: vectors: expected { size, distance }');
        }
        collections.set(name, { size: vectors.size, distance: vectors.distance, points: new Map(), payloadSchema: {} });
        return true;
      }
      case 'DELETE ':
        return collections.delete(name);
      case 'PUT /index': {
        const c = collection(name);
        if (typeof body?.field_name !== 'string')
          throw new HttpError(422, 'Json deserialize error: missing field `field_name`');
        c.payloadSchema[body.field_name] = {
          data_type: typeof body.field_schema === 'string' ? body.field_schema : body.field_schema?.type,
          params: body.field_schema,
          points: 0,
        };
        return completed(params);
      }
      case 'PUT /points': {
        const c = collection(name);
        const points: { id: PointId; vector: unknown; payload?: Payload }[] =
          body?.points ??
          (body?.batch
            ? body.batch.ids.map((id: PointId, i: number) => ({
                id,
                vector: body.batch.vectors[i],
                payload: body.batch.payloads?.[i],
              }))
            : null);
        if (!Array.isArray(points)) throw new HttpError(422, 'Json deserialize error: expected `points` or `batch`');
        for (const p of points) {
          if (!Array.isArray(p.vector) || p.vector.some((x) => typeof x !== 'number'))
            throw new HttpError(400, 'Wrong input: expected a dense vector');
          if (p.vector.length !== c.size)
            throw new HttpError(
              400,
              `Wrong input: Vector dimension error: expected dim: ${c.size}, got ${p.vector.length}`,
            );
          const id = normaliseId(p.id);
          const vector = c.distance === 'Cosine' ? normalise(p.vector as number[]) : (p.vector as number[]);
          c.points.set(String(id), { id, vector, payload: p.payload ?? {} });
        }
        return completed(params);
      }
      case 'POST /points/delete': {
        const c = collection(name);
        if (Array.isArray(body?.points)) {
          for (const id of body.points) c.points.delete(String(normaliseId(id)));
        } else if (body?.filter) {
          for (const [k, p] of c.points) if (matches(p, body.filter)) c.points.delete(k);
        } else {
          throw new HttpError(422, 'Json deserialize error: expected `points` or `filter`');
        }
        return completed(params);
      }
      case 'POST /points/count': {
        const c = collection(name);
        return { count: [...c.points.values()].filter((p) => !body?.filter || matches(p, body.filter)).length };
      }
      case 'POST /points/scroll': {
        const c = collection(name);
        const limit = body?.limit ?? 10;
        const sorted = [...c.points.values()]
          .filter((p) => !body?.filter || matches(p, body.filter))
          .sort((a, b) => String(a.id).localeCompare(String(b.id)));
        const start =
          body?.offset === undefined || body.offset === null
            ? 0
            : sorted.findIndex((p) => String(p.id) >= String(body.offset));
        const page = sorted.slice(Math.max(0, start), Math.max(0, start) + limit);
        return {
          points: page.map((p) => withFields(p, body?.with_payload ?? true, body?.with_vector ?? false)),
          next_page_offset: sorted[Math.max(0, start) + limit]?.id ?? null,
        };
      }
      case 'POST /points/query':
      case 'POST /points/search': {
        const c = collection(name);
        const vector = rest === '/points/query' ? body?.query : body?.vector;
        if (!Array.isArray(vector)) throw new HttpError(422, 'Json deserialize error: expected a dense vector query');
        if (vector.length !== c.size)
          throw new HttpError(
            400,
            `Wrong input: Vector dimension error: expected dim: ${c.size}, got ${vector.length}`,
          );
        const q = c.distance === 'Cosine' ? normalise(vector) : vector;
        const limit = body?.limit ?? 10;
        const offset = body?.offset ?? 0;
        const scored = [...c.points.values()]
          .filter((p) => !body?.filter || matches(p, body.filter))
          .map((p) => ({ p, score: dot(q, p.vector) }))
          .filter(
            (s) =>
              body?.score_threshold === undefined || body.score_threshold === null || s.score >= body.score_threshold,
          )
          .sort((a, b) => b.score - a.score)
          .slice(offset, offset + limit)
          .map(({ p, score }) => ({
            ...withFields(p, body?.with_payload ?? false, body?.with_vector ?? false),
            score,
            version: 0,
          }));
        return rest === '/points/query' ? { points: scored } : scored;
      }
      default:
        throw new HttpError(404, `Not found: ${method} ${path}`);
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    collections,
    queries: () => requests.filter((r) => /\/points\/(query|search)$/.test(r.path)).map((r) => r.body),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function withFields(p: StoredPoint, withPayload: unknown, withVector: unknown) {
  let payload: Payload | undefined;
  if (withPayload === true) payload = p.payload;
  else if (Array.isArray(withPayload))
    payload = Object.fromEntries(withPayload.filter((k) => k in p.payload).map((k) => [k, p.payload[k]]));
  else if (
    withPayload &&
    typeof withPayload === 'object' &&
    Array.isArray((withPayload as { include?: unknown }).include)
  ) {
    const include = (withPayload as { include: string[] }).include;
    payload = Object.fromEntries(include.filter((k) => k in p.payload).map((k) => [k, p.payload[k]]));
  }
  return { id: p.id, ...(payload ? { payload } : {}), ...(withVector === true ? { vector: p.vector } : {}) };
}

/** Qdrant's filter: every `must`, at least one `should` (when given), no `must_not`. Conditions nest. */
function matches(p: StoredPoint, filter: any): boolean {
  if (!filter) return true;
  const all = (list: any) => (Array.isArray(list) ? list : list ? [list] : []);
  if (!all(filter.must).every((c: any) => condition(p, c))) return false;
  const should = all(filter.should);
  if (should.length && !should.some((c: any) => condition(p, c))) return false;
  if (all(filter.must_not).some((c: any) => condition(p, c))) return false;
  return true;
}

function condition(p: StoredPoint, c: any): boolean {
  if (c.must !== undefined || c.should !== undefined || c.must_not !== undefined) return matches(p, c);
  if (Array.isArray(c.has_id)) return c.has_id.map((id: PointId) => String(normaliseId(id))).includes(String(p.id));
  if (typeof c.key !== 'string') throw new HttpError(422, 'Json deserialize error: unsupported filter condition');
  const value = c.key
    .split('.')
    .reduce((v: any, k: string) => (v === undefined || v === null ? undefined : v[k]), p.payload);
  const values = Array.isArray(value) ? value : [value];
  if (c.match) {
    if ('value' in c.match) return values.includes(c.match.value);
    if (Array.isArray(c.match.any)) return values.some((v) => c.match.any.includes(v));
    if (Array.isArray(c.match.except)) return values.every((v) => !c.match.except.includes(v));
  }
  if (c.range) {
    return values.some(
      (v) =>
        typeof v === 'number' &&
        (c.range.gt === undefined || c.range.gt === null || v > c.range.gt) &&
        (c.range.gte === undefined || c.range.gte === null || v >= c.range.gte) &&
        (c.range.lt === undefined || c.range.lt === null || v < c.range.lt) &&
        (c.range.lte === undefined || c.range.lte === null || v <= c.range.lte),
    );
  }
  if (c.is_empty) return value === undefined || value === null || (Array.isArray(value) && value.length === 0);
  throw new HttpError(422, `Json deserialize error: unsupported condition on ${c.key}`);
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

function normaliseId(id: unknown): PointId {
  if (typeof id === 'number' && Number.isInteger(id) && id >= 0) return id;
  if (typeof id === 'string' && UUID.test(id)) {
    const h = id.replaceAll('-', '').toLowerCase();
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  throw new HttpError(
    400,
    `Wrong input: Unable to parse point id ${JSON.stringify(id)}: an unsigned integer or a UUID is expected`,
  );
}

function normalise(v: number[]): number[] {
  const n = Math.sqrt(dot(v, v));
  return n === 0 ? v : v.map((x) => x / n);
}

function dot(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}
