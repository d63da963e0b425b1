import type { Db } from '../db/pool.ts';
import { submissionGroupSize } from '../metrics.ts';
import type { PipelineQueues } from '../../queues/registry.ts';
import { acceptSubmissions, type Accepted, type Outcome, type SubmissionRequest } from '../submissions.ts';

// Group commit for the submission endpoints. Every accepted submission is committed to PostgreSQL
// before its 202, and a commit costs a WAL flush and a round trip whatever its size: submissions
// arriving together share one. Nothing waits on a timer: when no group is committing, what has
// arrived goes at once (the next turn of the event loop); while one is committing, the next group
// gathers and goes the moment the database is free again. An idle server pays no delay and a busy
// one a group per commit time.

/** At most this many submissions, or this many characters of their text, in one group. */
const MAX_GROUP = 128;
const MAX_GROUP_CHARS = 8_000_000;

type Waiting = { input: SubmissionRequest; size: number; settle: (outcome: Outcome) => void };

export type SubmissionGroups = {
  /** Records the submission with whatever arrives alongside it and signals ingest; throws its own error. */
  accept(input: SubmissionRequest): Promise<Accepted>;
};

export function submissionGroups(db: Db, queues: PipelineQueues): SubmissionGroups {
  let waiting: Waiting[] = [];
  let committing = false;
  let scheduled = false;

  function schedule(): void {
    if (scheduled || committing || waiting.length === 0) return;
    scheduled = true;
    setImmediate(flush);
  }

  function take(): Waiting[] {
    let chars = 0;
    let n = 0;
    while (n < waiting.length && n < MAX_GROUP && (n === 0 || chars + waiting[n]!.size <= MAX_GROUP_CHARS)) {
      chars += waiting[n]!.size;
      n++;
    }
    const group = waiting.slice(0, n);
    waiting = waiting.slice(n);
    return group;
  }

  function flush(): void {
    scheduled = false;
    if (committing || waiting.length === 0) return;
    committing = true;
    const group = take();
    submissionGroupSize.observe(group.length);
    // The next group may commit as soon as this one has: adding the jobs to Redis overlaps it.
    let done = false;
    const committed = () => {
      if (done) return;
      done = true;
      committing = false;
      schedule();
    };
    acceptSubmissions(
      db,
      queues,
      group.map((w) => w.input),
      committed,
    ).then(
      (outcomes) => {
        for (const [i, w] of group.entries()) w.settle(outcomes[i]!);
      },
      // acceptSubmissions answers every submission itself; this is for a bug in it.
      (err: Error) => {
        committed();
        for (const w of group) w.settle({ ok: false, error: err });
      },
    );
  }

  return {
    accept(input) {
      return new Promise<Accepted>((resolve, reject) => {
        const source = input.body.source;
        const size = ('text' in source ? source.text.length : 0) + 1_000;
        waiting.push({ input, size, settle: (o) => (o.ok ? resolve(o.accepted) : reject(o.error)) });
        schedule();
      });
    },
  };
}
