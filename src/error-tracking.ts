import type { ErrorEvent } from '@sentry/node';
import type { Request } from 'express';
import type { Config } from './config.ts';
import { currentCorrelationId } from './correlation.ts';

// Optional error tracking through the Sentry SDK (any Sentry-compatible server: Sentry, GlitchTip,
// Bugsink, …). Off unless SENTRY_DSN is set. Two things are reported, each tagged so an event can
// be followed to its log lines: an unhandled error in a route (the API's 500 answer) and a stage
// failure that ends a post (permanent, or out of retries). Transient stage errors that will be
// retried are not reported: the metrics and logs count those.
//
// The client is our own (not Sentry.init): it installs no global handlers and no OpenTelemetry
// instrumentation, and adds no headers to outbound calls. Events carry no request headers, bodies,
// cookies or user data, and anything in them that looks like a credential, or equals a configured
// secret, is replaced by [redacted] before sending.

type Tags = Record<string, string | number | undefined>;

export type ErrorTracker = {
  readonly enabled: boolean;
  capture(err: unknown, tags: Tags): void;
  flush(timeoutMs?: number): Promise<boolean>;
  close(timeoutMs?: number): Promise<boolean>;
};

const disabled: ErrorTracker = {
  enabled: false,
  capture: () => undefined,
  flush: async () => true,
  close: async () => true,
};

// One client per DSN and process: the API and the workers of an `all` process share it.
const trackers = new Map<string, ErrorTracker>();

type TrackingConfig = Pick<Config, 'SENTRY_DSN' | 'SENTRY_ENVIRONMENT' | 'SENTRY_RELEASE' | 'NODE_ENV'> &
  Partial<Config>;

/** The tracker for a configuration; a no-op when SENTRY_DSN is unset. */
export function errorTracker(config: TrackingConfig): ErrorTracker {
  const dsn = config.SENTRY_DSN;
  if (!dsn) return disabled;
  let tracker = trackers.get(dsn);
  if (!tracker) {
    tracker = createTracker(config, dsn);
    trackers.set(dsn, tracker);
  }
  return tracker;
}

/** Sends what was captured and closes the client, if one was made; false when time ran out first. */
export async function closeErrorTracking(config: TrackingConfig, timeoutMs: number): Promise<boolean> {
  const tracker = config.SENTRY_DSN ? trackers.get(config.SENTRY_DSN) : undefined;
  return tracker ? tracker.close(timeoutMs) : true;
}

function createTracker(config: TrackingConfig, dsn: string): ErrorTracker {
  const scrub = scrubber(config);
  // The SDK is loaded only once a DSN is set: it is large (about 30 MB resident) and most
  // deployments leave tracking off.
  const ready = import('@sentry/node').then(
    ({ defaultStackParser, linkedErrorsIntegration, makeNodeTransport, NodeClient, Scope }) => {
      const client = new NodeClient({
        dsn,
        environment: config.SENTRY_ENVIRONMENT ?? config.NODE_ENV,
        ...(config.SENTRY_RELEASE ? { release: config.SENTRY_RELEASE } : {}),
        transport: makeNodeTransport,
        stackParser: defaultStackParser,
        integrations: [linkedErrorsIntegration()],
        sendClientReports: false,
        tracesSampleRate: 0,
        beforeSend: (event: ErrorEvent) => scrub(event),
      });
      const scope = new Scope();
      scope.setClient(client);
      client.init();
      return { client, scope };
    },
  );
  // Captures not yet handed to the client (the SDK may still be loading): flush waits for them too.
  const pending = new Set<Promise<unknown>>();
  const settle = async () => {
    while (pending.size > 0) await Promise.allSettled([...pending]);
  };
  return {
    enabled: true,
    capture(err, tags) {
      const captured = ready
        .then(({ scope }) => {
          const event = scope.clone();
          for (const [key, value] of Object.entries(tags))
            if (value !== undefined && value !== '') event.setTag(key, String(value));
          event.captureException(err instanceof Error ? err : new Error(String(err)));
        })
        // Reporting must never break the request or the job it reports on.
        .catch(() => undefined);
      pending.add(captured);
      void captured.finally(() => pending.delete(captured));
    },
    async flush(timeoutMs = 2000) {
      const deadline = Date.now() + timeoutMs;
      await Promise.race([settle(), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
      return (await ready).client.flush(Math.max(1, deadline - Date.now()));
    },
    async close(timeoutMs = 2000) {
      const deadline = Date.now() + timeoutMs;
      await Promise.race([settle(), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
      trackers.delete(dsn);
      return (await ready).client.close(Math.max(1, deadline - Date.now()));
    },
  };
}

/** The app's tracker, kept in `app.locals` by createApp (src/http/app.ts). */
export const trackerLocal = 'errorTracker';

/** An unhandled error in a route (the 500 answer), tagged with the request id and the route template. */
export function captureRouteError(req: Request, err: unknown): void {
  const tracker = req.app.locals[trackerLocal] as ErrorTracker | undefined;
  if (!tracker?.enabled) return;
  tracker.capture(err, {
    correlation_id: req.id,
    route: routeTemplate(req),
    method: req.method,
    status_code: 500,
    tenant_id: req.tenantId,
    source: 'http',
  });
}

/** A stage failure that ends a post: permanent, or the last attempt of a transient error. */
export function captureStageFailure(
  config: TrackingConfig,
  err: unknown,
  context: {
    stage: string;
    postId: string;
    correlationId?: string | undefined;
    jobId?: string | undefined;
    attempt: number;
    permanent: boolean;
  },
): void {
  const tracker = errorTracker(config);
  if (!tracker.enabled) return;
  tracker.capture(err, {
    correlation_id: context.correlationId ?? currentCorrelationId(),
    stage: context.stage,
    post_id: context.postId,
    job_id: context.jobId,
    attempt: context.attempt,
    permanent: String(context.permanent),
    source: 'worker',
  });
}

/**
 * The route's template with its mount path (`/api/v1/posts/:id`), never the raw path (ids stay out of
 * the tag). By the time an error reaches the app's handler, Express has reset `req.baseUrl`, so the
 * mount path is taken from the front of the request's path: the template covers its last segments.
 */
export function routeTemplate(req: Request): string {
  const template = req.route ? String(req.route.path) : undefined;
  if (!template) return 'unmatched';
  const path = (req.originalUrl ?? req.url).split('?')[0]!;
  const segments = path.split('/');
  const templateSegments = template.split('/').length - 1;
  const prefix = segments.slice(0, Math.max(1, segments.length - templateSegments)).join('/');
  return `${req.baseUrl || prefix}${template}`;
}

const credentialPatterns: RegExp[] = [
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi,
  /\bbpk_[0-9a-f]{16}_[A-Za-z0-9_-]+/g,
  /\bwhsec_[A-Za-z0-9+/=]+/g,
  /\bsk-[A-Za-z0-9_-]{8,}/g,
  // user:password@ in URLs (database and Redis URLs in connection errors).
  /(?<=[a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+(?=@)/gi,
];

const secretKeys = [
  'DEV_API_KEY',
  'OPENAI_API_KEY',
  'EMBEDDING_API_KEY',
  'QDRANT_API_KEY',
  'OPERATOR_TOKEN',
  'OPERATOR_PASSWORD',
  'METRICS_TOKEN',
  'SECRETS_MASTER_KEYS',
] as const;

function scrubber(config: TrackingConfig): (event: ErrorEvent) => ErrorEvent {
  const known = secretKeys
    .flatMap((key) => {
      const value = (config as Partial<Record<string, unknown>>)[key];
      return typeof value === 'string'
        ? key === 'SECRETS_MASTER_KEYS'
          ? [value, ...value.split(',').map((k) => k.split(':')[1] ?? '')]
          : [value]
        : [];
    })
    .filter((v) => v.length >= 8);
  const clean = (text: string): string => {
    let out = text;
    for (const secret of known) out = out.split(secret).join('[redacted]');
    for (const pattern of credentialPatterns)
      out = out.replace(pattern, (m) =>
        /^(Bearer|Basic)\s/i.test(m) ? `${m.split(/\s+/)[0]} [redacted]` : '[redacted]',
      );
    return out;
  };
  const walk = (value: unknown, depth: number): unknown => {
    if (typeof value === 'string') return clean(value);
    if (depth > 12 || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, depth + 1)]));
  };
  return (event) => {
    // Nothing about the request beyond the tags: no headers, cookies, bodies or client addresses.
    delete event.request;
    delete event.user;
    delete event.breadcrumbs;
    return walk(event, 0) as ErrorEvent;
  };
}
