import { stageStatus, stages, type Stage } from '../../queues/stages.ts';
import { PermanentError } from '../errors.ts';

// The post lifecycle: every status a post can have, which status may follow which and on what event, and what a
// stage's processor may ask for when it is done. src/posts/status.ts is the only code that writes posts.status, and
// it writes only what this table allows. The README's state diagram is generated from it (npm run docs:lifecycle).

/** Every status, in the order the post_statuses table lists them. */
export const postStatuses = [
  'queued',
  'ingesting',
  'generating',
  'embedding',
  'indexing',
  'publishing',
  'published',
  'failed',
  'needs_review',
  'duplicate_of',
  'awaiting_approval',
  'scheduled',
  'rejected',
  'budget_exceeded',
  'cancelled',
  'expanded',
  'duplicate',
  'skipped',
] as const;
export type PostStatus = (typeof postStatuses)[number];

/** A stage is working on the post. */
export type WorkingStatus = (typeof stageStatus)[Stage];
export const workingStatuses: readonly WorkingStatus[] = Object.values(stageStatus);

/** Waiting for an operator (or, for `scheduled`, its publishAt): resumed after the stage that held it. */
export const holdStatuses = ['needs_review', 'duplicate_of', 'awaiting_approval', 'scheduled'] as const;
export type HoldStatus = (typeof holdStatuses)[number];

/** Ended by a stage without an error. `duplicate` and `skipped` keep the stage that ended them: approvable. */
export const stopStatuses = [
  'published',
  'expanded',
  'duplicate',
  'skipped',
  'budget_exceeded',
  'cancelled',
  'rejected',
] as const;
export type StopStatus = (typeof stopStatuses)[number];

/** Statuses an operator approves or rejects: held by a guard of some stage (ingest's dedup included). */
export const approvableStatuses = [
  'awaiting_approval',
  'needs_review',
  'duplicate_of',
  'duplicate',
  'skipped',
] as const;
export type ApprovableStatus = (typeof approvableStatuses)[number];

export type PostEvent =
  /** A stage's worker picks the post up: the post shows the stage's status. */
  | 'start'
  /** A stage's guard holds the post for an operator or its schedule. */
  | 'hold'
  /** A stage ends the post without an error (publish ends it as published). */
  | 'stop'
  /** A stage failed for good: out of attempts, or an error retrying cannot fix. */
  | 'fail'
  /** An operator approves a held post; it is resumed at once. */
  | 'approve'
  /** The approved post could not be resumed: it goes back to the hold it came from. */
  | 'unapprove'
  | 'reject'
  | 'cancel'
  /** Continued after its hold or replayed from a stage, as a new run. */
  | 'resume';

export type Transition = {
  event: PostEvent;
  from: readonly PostStatus[];
  to: readonly PostStatus[];
  /** Statuses where the event changes nothing and is no error (a late duplicate job of a published post). */
  unchanged?: readonly PostStatus[];
};

const allBut = (...except: PostStatus[]): PostStatus[] => postStatuses.filter((s) => !except.includes(s));

/**
 * The statuses a stage may start from: a new or resumed post, the status of an earlier stage or its own (a hand-off,
 * a retry), a failed post (its failed job retried by hand), and for publish its schedule. In any other status the
 * post went on without this job: a duplicate of one whose hand-off went through (run again after its worker died)
 * or a late job of a held or stopped post. Such a start is superseded: it changes nothing, and is no error.
 */
export function startableFrom(stage: Stage): PostStatus[] {
  const upTo = stages.slice(0, stages.indexOf(stage) + 1).map((s) => stageStatus[s]);
  return ['queued', 'failed', ...upTo, ...(stage === 'publish' ? (['scheduled'] as const) : [])];
}

/** Statuses that show a stage's work went through: a later stage's, or publication. */
export function pastStage(stage: Stage): PostStatus[] {
  return [...stages.slice(stages.indexOf(stage) + 1).map((s) => stageStatus[s]), 'published'];
}

/** The transition table: an event moves a post from one of `from` to one of `to`; anything else throws. */
export const transitions: readonly Transition[] = [
  ...stages.map(
    (stage): Transition => ({
      event: 'start',
      from: startableFrom(stage),
      to: [stageStatus[stage]],
      unchanged: postStatuses.filter((s) => !startableFrom(stage).includes(s)),
    }),
  ),
  { event: 'hold', from: workingStatuses, to: holdStatuses },
  { event: 'stop', from: workingStatuses, to: stopStatuses.filter((s) => s !== 'published') },
  { event: 'stop', from: ['publishing'], to: ['published'], unchanged: ['published'] },
  { event: 'fail', from: allBut('published'), to: ['failed'], unchanged: ['published'] },
  { event: 'approve', from: approvableStatuses, to: ['queued'] },
  { event: 'unapprove', from: ['queued'], to: approvableStatuses },
  { event: 'reject', from: [...approvableStatuses, 'scheduled'], to: ['rejected'] },
  { event: 'cancel', from: allBut('published', 'publishing', 'cancelled', 'rejected'), to: ['cancelled'] },
  { event: 'resume', from: postStatuses, to: ['queued'] },
];

export const postEvents: readonly PostEvent[] = [...new Set(transitions.map((t) => t.event))];

/** Whether `event` may move a post from `from` to `to`. */
export function canTransition(event: PostEvent, from: PostStatus, to: PostStatus): boolean {
  return transitions.some((t) => t.event === event && t.from.includes(from) && t.to.includes(to));
}

/** The statuses `event` may move a post to `to` from (what the writing statement's WHERE allows). */
export function sourcesOf(event: PostEvent, to: PostStatus): PostStatus[] {
  return postStatuses.filter((from) => canTransition(event, from, to));
}

/** Whether `event` leaves a post in `status` as it is, without an error. */
export function leavesUnchanged(event: PostEvent, to: PostStatus, status: PostStatus): boolean {
  return transitions.some((t) => t.event === event && t.to.includes(to) && (t.unchanged ?? []).includes(status));
}

/** A move the table does not allow. Permanent: retrying the stage finds the post in the same status. */
export class IllegalTransitionError extends PermanentError {
  readonly event: PostEvent;
  readonly from: string;
  readonly to: PostStatus;
  constructor(event: PostEvent, from: string, to: PostStatus) {
    super(`a post that is ${from} cannot become ${to} on ${event}`);
    this.event = event;
    this.from = from;
    this.to = to;
  }
}

/** Throws unless the table has some status `event` moves to `to` from: a writer asking for a move that never is. */
export function assertReachable(event: PostEvent, to: PostStatus): void {
  if (sourcesOf(event, to).length === 0) throw new IllegalTransitionError(event, 'any status', to);
}

// ---------------------------------------------------------------- what a processor returns

/**
 * What a stage's processor asks for when it is done; the stage runner applies it in the same statement that
 * closes the stage run.
 */
export type StageOutcome =
  /** Continue with the next stage (none after publish), after the stage's last write when it has one. */
  | { kind: 'handOn'; write?: StageWrite }
  /** Hold the post for an operator or its schedule; resuming continues with the stage after `heldStage`. */
  | { kind: 'hold'; status: HoldStatus; heldStage: Stage; reason: string; details?: unknown }
  /**
   * End the post here without an error. With a reason, the reason (and `heldStage`, `details`) are kept on the post
   * as its hold fields; without one they are left as they are.
   */
  | {
      kind: 'stop';
      status: StopStatus;
      reason?: string;
      heldStage?: Stage;
      details?: unknown;
      duplicateOf?: string | null;
    }
  /** Run this stage again at `until` (a destination's breaker is open); the post keeps its status meanwhile. */
  | { kind: 'wait'; until: Date; reason: string };

/**
 * A stage's last write, made by the runner in the statement that closes the stage's run: one or more
 * `name AS (INSERT | UPDATE | DELETE …)` CTEs with $1 the post id and their own parameters numbered from $2 (as a
 * PostRead's). The next stage is enqueued after it commits, so it reads what the write saved.
 */
export type StageWrite = { sql: string; params: unknown[] };

export const handOn = (write?: StageWrite): StageOutcome => (write ? { kind: 'handOn', write } : { kind: 'handOn' });

export function hold(status: HoldStatus, heldStage: Stage, reason: string, details?: unknown): StageOutcome {
  return { kind: 'hold', status, heldStage, reason, ...(details === undefined ? {} : { details }) };
}

export function stop(
  status: StopStatus,
  opts: { reason?: string; heldStage?: Stage; details?: unknown; duplicateOf?: string | null } = {},
): StageOutcome {
  return { kind: 'stop', status, ...opts };
}

export const waitUntil = (until: Date, reason: string): StageOutcome => ({ kind: 'wait', until, reason });

// ---------------------------------------------------------------- the diagram

/** Statuses drawn together in the diagram, where an event applies to each of them alike. */
const diagramGroups: Record<string, readonly PostStatus[]> = {
  Working: workingStatuses,
  Held: holdStatuses,
  Ended: ['expanded', 'duplicate', 'skipped', 'budget_exceeded'],
  Stopped: ['cancelled', 'rejected'],
};

/** A set of statuses as diagram nodes: whole groups by their name, the rest one by one. */
function nodes(statuses: readonly PostStatus[]): string[] {
  const left = new Set(statuses);
  const out: string[] = [];
  for (const [name, members] of Object.entries(diagramGroups)) {
    if (members.every((s) => left.has(s))) {
      out.push(name);
      for (const s of members) left.delete(s);
    }
  }
  return [...out, ...postStatuses.filter((s) => left.has(s))];
}

/** The transition table as a Mermaid state diagram (stateDiagram-v2), one line per edge, in table order. */
export function lifecycleDiagram(): string {
  const lines = ['stateDiagram-v2', '  [*] --> queued : submitted'];
  for (const [name, members] of Object.entries(diagramGroups)) {
    lines.push(`  state ${name} {`, ...members.map((s) => `    ${s}`), '  }');
  }
  const seen = new Set<string>();
  for (const t of transitions) {
    for (const from of nodes(t.from)) {
      for (const to of nodes(t.to)) {
        const edge = `  ${from} --> ${to} : ${t.event}`;
        if (seen.has(edge)) continue;
        seen.add(edge);
        lines.push(edge);
      }
    }
  }
  lines.push('  published --> [*]');
  return lines.join('\n');
}
