import { z } from 'zod';

// What flows where: the five stages in order, the payload every stage job carries, and the
// deterministic job id that makes handing a post on idempotent.

export const stages = ['ingest', 'generate', 'embed', 'index', 'publish'] as const;
export type Stage = (typeof stages)[number];

export const stageSchema = z.enum(stages);

/** The stage after this one, or null after publish. */
export function nextStage(stage: Stage): Stage | null {
  return stages[stages.indexOf(stage) + 1] ?? null;
}

/** Post status while a stage is working on it. */
export const stageStatus = {
  ingest: 'ingesting',
  generate: 'generating',
  embed: 'embedding',
  index: 'indexing',
  publish: 'publishing',
} as const satisfies Record<Stage, string>;

/**
 * Job data: ids only. Job data sits in Redis in clear text, so content and secrets stay in
 * PostgreSQL; the row is the state and the job is only the signal.
 */
export const stageJobSchema = z
  .object({
    postId: z.uuid(),
    correlationId: z.string().min(1).max(200),
    /** Which run of the post this is: 0 at first, bumped when a held post resumes or a post is replayed. */
    generation: z.number().int().min(0).optional(),
  })
  .strict();
export type StageJob = z.infer<typeof stageJobSchema>;

/**
 * One job per post, stage and run: a retried stage that enqueues its successor twice adds nothing,
 * while a resumed or replayed post (a new generation) gets fresh ids.
 */
export function stageJobId(postId: string, stage: Stage, generation = 0): string {
  return generation > 0 ? `post-${postId}-${stage}-g${generation}` : `post-${postId}-${stage}`;
}

/**
 * The job of a stage that waits to run again (publish waiting for a destination whose breaker is open): named
 * after the run that asked to wait, so the stranded sweep can tell whether it still exists.
 */
export function waitJobId(postId: string, stage: Stage, generation: number, runId: number): string {
  return `post-${postId}-${stage}-g${generation}-wait-${runId}`;
}

/** Queue names equal stage names; the Redis prefix (a cluster hash tag) comes from config. */
export function queueName(stage: Stage): string {
  return stage;
}
