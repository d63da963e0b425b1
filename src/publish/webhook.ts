import { Webhook } from 'standardwebhooks';
import { PermanentError } from '../errors.ts';
import type { SafeFetcher } from '../fetch/safe-fetch.ts';
import { DestinationUnavailableError, isRetryableStatus, sendToDestination } from './http.ts';

// Outbound webhooks signed per the Standard Webhooks spec (webhook-id, webhook-timestamp,
// webhook-signature). The caller passes a stable id: every retry of one message carries the same
// webhook-id, so receivers can deduplicate; the timestamp is the attempt's, as the spec asks.
// Deliveries go through the SSRF guard (the fetcher's `send`), with the current X-Request-Id.

export type WebhookMessage = { id: string; type: string; data: unknown };

/** Reads the signing secret from the environment variable a destination or tenant names. */
export function secretFromEnv(variable: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[variable];
  if (!value)
    throw new PermanentError(`the environment variable ${variable} (the signing secret or password) is not set`);
  return value;
}

export async function sendWebhook(
  fetcher: SafeFetcher,
  target: { url: string; secret: string; timeoutMs: number },
  message: WebhookMessage,
  now = new Date(),
): Promise<{ status: number }> {
  let signer: Webhook;
  try {
    signer = new Webhook(target.secret);
  } catch (err) {
    throw new PermanentError(`the webhook signing secret is not valid base64 (whsec_…): ${(err as Error).message}`);
  }
  const payload = JSON.stringify({ type: message.type, timestamp: now.toISOString(), data: message.data });
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'BlogPoster-Webhooks/1.0',
    'webhook-id': message.id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': signer.sign(message.id, now, payload),
  };
  const what = `webhook POST ${new URL(target.url).origin}`;
  const res = await sendToDestination(
    fetcher,
    what,
    target.url,
    { method: 'POST', headers, body: payload },
    target.timeoutMs,
  );
  if (res.status >= 200 && res.status < 300) return { status: res.status };
  if (isRetryableStatus(res.status))
    throw new DestinationUnavailableError(`${what} answered ${res.status}`, res.status);
  if (res.status >= 300 && res.status < 400)
    throw new PermanentError(`${what} answered ${res.status}: redirects are not followed; use the final URL`);
  throw new PermanentError(`${what} answered ${res.status}: the receiver refused the delivery`);
}
