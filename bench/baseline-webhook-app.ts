// The webhook baseline: a bare Express 5 app that validates the same body with the same zod
// schema and calls Queue.add — no auth, no database, no idempotency. What the real API adds on
// top of this is the price of recording every submission durably.
import { Queue } from 'bullmq';
import express from 'express';
import { Redis } from 'ioredis';
import { submissionSchema } from '../src/submissions.ts';

const queue = new Queue('ingest', {
  connection: new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 1 }),
  prefix: process.env.QUEUE_PREFIX!,
});
const app = express();
app.use(express.json({ limit: '1mb' }));
app.post('/api/v1/submissions', async (req, res) => {
  const parsed = submissionSchema.safeParse(req.body);
  if (!parsed.success) return res.status(422).json({ errors: parsed.error.issues });
  const job = await queue.add('ingest', parsed.data);
  res.status(202).json({ id: job.id, status: 'accepted' });
});
const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('baseline ready'));
process.on('SIGTERM', () => server.close(() => queue.close().then(() => process.exit(0))));
