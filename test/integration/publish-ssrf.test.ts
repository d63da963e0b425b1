import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSafeFetcher, type ConnectAttempt, type Resolver } from '../../src/fetch/safe-fetch.ts';
import { createLogger } from '../../src/logger.ts';
import { resetBreakers } from '../../src/resilience/breakers.ts';
import { createDestination, createDestinationSchema, resolveTargets } from '../../src/publish/destinations.ts';
import { loadPostForPublishing } from '../../src/publish/post-data.ts';
import { publishToTarget } from '../../src/publish/publish-post.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';

// Tenant-configured destinations go through the SSRF guard in the publish stage. Only loopback is
// ever really attempted: a counting server on 127.0.0.1 stands behind `localhost`, which this suite
// leaves off FETCH_ALLOW_PRIVATE_HOSTS; private and metadata names resolve through an injected
// resolver whose fetcher reports every dial.

const secret = `whsec_${randomBytes(24).toString('base64')}`;
const text = (n: string) =>
  `Destination guard ${n}. A tenant's webhook or WordPress site must not ` +
  `point the publisher at the inside of the network. The guard refuses such ` +
  `addresses before connecting.`;

describe('destinations behind the SSRF guard in the publish stage', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let trap: Server;
  let port: number;
  let connections = 0;

  beforeAll(async () => {
    process.env.BP_SECRET_SSRF_HOOK = secret;
    process.env.BP_SECRET_SSRF_WP = 'abcd efgh ijkl mnop qrst uvwx';
    trap = createServer((_req, res) => res.end('{}'));
    trap.on('connection', () => connections++);
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    port = (trap.address() as AddressInfo).port;
    // 127.0.0.1 stays allowed (the API answers there); `localhost` is not.
    t = await createTestEnv({ FETCH_ALLOW_PRIVATE_HOSTS: '127.0.0.1', STAGE_ATTEMPTS: '3' });
    app = await startPipeline(t);
  });
  afterAll(async () => {
    await app?.stop();
    trap?.closeAllConnections();
    await new Promise((r) => trap?.close(r));
    await t?.cleanup();
  });
  beforeEach(() => {
    connections = 0;
    resetBreakers();
  });

  async function destination(name: string, kind: 'webhook' | 'wordpress', url: string) {
    const config =
      kind === 'webhook'
        ? { url, secretEnv: 'BP_SECRET_SSRF_HOOK', timeoutMs: 2000 }
        : { url, username: 'admin', passwordEnv: 'BP_SECRET_SSRF_WP', timeoutMs: 2000 };
    // The API refuses a loopback name at creation now; this suite is about the check at publish, which
    // still runs for rows written before (and for names whose DNS answer changed since), so it writes
    // the rows itself when the edge would refuse them.
    const res = await app.post('/api/v1/destinations', { name, kind, config });
    if (res.status === 201) return res.body.id as string;
    expect(res.status).toBe(422);
    expect(res.body.errors[0].field).toBe('config.url');
    const tenant = (await app.rt.db.query<{ id: string }>(`SELECT id FROM tenants WHERE slug = 'default'`)).rows[0]!;
    const input = createDestinationSchema.parse({ name, kind, config });
    return (await createDestination(app.rt.db, tenant.id, input)).id;
  }

  it.each([
    ['webhook', 'webhook POST'],
    ['wordpress', 'WordPress GET /wp/v2/users/me:'],
  ] as const)(
    'a %s destination at a name resolving to loopback fails the post at once with the reason; nothing is dialled',
    async (kind, prefix) => {
      const id = await destination(
        `loopback ${kind}`,
        kind,
        `http://localhost:${port}/${kind === 'webhook' ? 'hook' : ''}`,
      );
      const res = await app.post('/api/v1/submissions', {
        source: { type: 'text', text: text(kind) },
        publish: { destinations: [id] },
      });
      expect(res.status).toBe(202);
      const post = await waitFor('the post to fail', async () => {
        const { body } = await app.get(`/api/v1/posts/${res.body.postId}`);
        return ['failed', 'published'].includes(body.status) ? body : null;
      });
      expect(post.status).toBe('failed');
      expect(post.failure.stage).toBe('publish');
      expect(post.failure.reason).toContain(prefix);
      expect(post.failure.reason).toMatch(
        /refused http:\/\/localhost:\d+: localhost resolves to (127\.0\.0\.1|::1) is a loopback address/,
      );
      expect(post.failure.reason).toMatch(/FETCH_ALLOW_PRIVATE_HOSTS/);
      // Permanent: one publish run, no retries.
      expect(
        post.stages.filter((s: { stage: string }) => s.stage === 'publish').map((s: { outcome: string }) => s.outcome),
      ).toEqual(['failed']);
      expect(post.publications).toEqual([expect.objectContaining({ kind, status: 'failed' })]);
      expect(connections).toBe(0);
    },
  );

  it(
    'webhook and WordPress destinations at private and metadata names: a permanent ' +
      'outcome with the reason, no connection (recording resolver)',
    async () => {
      const dns: Record<string, string[]> = { 'metadata.example': ['169.254.169.254'], 'wp.internal': ['10.20.30.40'] };
      const resolver: Resolver = async (host) => (dns[host] ?? []).map((address) => ({ address, family: 4 }));
      const resolved: string[] = [];
      const attempts: ConnectAttempt[] = [];
      const fetcher = createSafeFetcher({
        resolver: async (host) => {
          resolved.push(host);
          return resolver(host);
        },
        allowPrivateHosts: t.config.FETCH_ALLOW_PRIVATE_HOSTS,
        onConnect: (a) => attempts.push(a),
      });

      const ids = [
        await destination('metadata hook', 'webhook', 'http://metadata.example/latest/meta-data/'),
        await destination('internal wp', 'wordpress', 'http://wp.internal'),
      ];
      // A written post, held for approval so the pipeline itself does not publish it.
      const res = await app.post('/api/v1/submissions', {
        source: { type: 'text', text: text('direct') },
        publish: { destinations: ids, requireApproval: true },
      });
      const postId = res.body.postId as string;
      await waitFor(
        'the post held for approval',
        async () => (await app.get(`/api/v1/posts/${postId}`)).body.status === 'awaiting_approval',
      );
      const post = (await loadPostForPublishing(app.rt.db, postId))!;
      const targets = await resolveTargets(app.rt.db, post.tenantId, ids);
      const deps = { db: app.rt.db, config: t.config, log: createLogger('silent'), fetcher };

      const byKind = Object.fromEntries(targets.map((target) => [target.kind, target]));
      const hook = await publishToTarget(deps, post, byKind.webhook!, 0);
      expect(hook).toEqual({
        kind: 'permanent',
        reason: expect.stringMatching(
          /^webhook "metadata hook": webhook POST http:\/\/metadata\.example: refused http:\/\/metadata\.example: metadata\.example resolves to 169\.254\.169\.254 is the cloud metadata address/,
        ),
      });
      const wp = await publishToTarget(deps, post, byKind.wordpress!, 0);
      expect(wp).toEqual({
        kind: 'permanent',
        reason: expect.stringMatching(
          /^wordpress "internal wp": WordPress GET \/wp\/v2\/users\/me: refused http:\/\/wp\.internal: wp\.internal resolves to 10\.20\.30\.40 is a private \(RFC 1918\) address/,
        ),
      });
      expect(resolved).toEqual(['metadata.example', 'wp.internal']);
      expect(attempts).toEqual([]);

      const { rows } = await app.rt.db.query<{ kind: string; status: string; last_error: string }>(
        'SELECT kind, status, last_error FROM publications WHERE post_id = $1 ORDER BY kind',
        [postId],
      );
      expect(rows.map((r) => [r.kind, r.status])).toEqual([
        ['webhook', 'failed'],
        ['wordpress', 'failed'],
      ]);
      expect(rows[0]!.last_error).toMatch(/cloud metadata address/);
      expect(rows[1]!.last_error).toMatch(/private \(RFC 1918\) address/);
    },
  );
});
