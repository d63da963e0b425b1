import { createServer, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';

export type Delivery = {
  id: string;
  timestamp: string;
  status: number;
  verified: boolean;
  body: any;
  headers: Record<string, string | string[] | undefined>;
};

/**
 * A webhook receiver built on the standardwebhooks library: it verifies every delivery's signature and
 * answers with whatever `answer()` returns (500s first, then 200, …).
 */
export async function startReceiver(secret: string, answer: (delivery: number) => number = () => 200) {
  const verifier = new Webhook(secret);
  const deliveries: Delivery[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const headers = {
        'webhook-id': String(req.headers['webhook-id'] ?? ''),
        'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
        'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
      };
      let verified = false;
      let body: unknown = null;
      try {
        body = verifier.verify(raw, headers);
        verified = true;
      } catch {
        // recorded as unverified
      }
      const status = answer(deliveries.length);
      deliveries.push({
        id: headers['webhook-id'],
        timestamp: headers['webhook-timestamp'],
        status,
        verified,
        body,
        headers: { ...req.headers },
      });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  return { url, deliveries, close: () => new Promise<void>((r) => server.close(() => r())) };
}
