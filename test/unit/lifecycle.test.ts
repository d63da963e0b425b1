import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  canTransition,
  handOn,
  hold,
  IllegalTransitionError,
  leavesUnchanged,
  lifecycleDiagram,
  type PostEvent,
  type PostStatus,
  postEvents,
  postStatuses,
  stop,
  waitUntil,
} from '../../src/posts/lifecycle.ts';
import { assertReachable } from '../../src/posts/lifecycle.ts';
import { README_MARKERS, withDiagram } from '../../scripts/lifecycle-diagram.ts';

// The lifecycle as it is meant to be, written out here by hand (not read from the table), so that a change to the
// table that nobody meant fails this test.
const ALL: PostStatus[] = [
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
];
const WORKING: PostStatus[] = ['ingesting', 'generating', 'embedding', 'indexing', 'publishing'];
const HOLDS: PostStatus[] = ['needs_review', 'duplicate_of', 'awaiting_approval', 'scheduled'];
const APPROVABLE: PostStatus[] = ['awaiting_approval', 'needs_review', 'duplicate_of', 'duplicate', 'skipped'];
const but = (...except: PostStatus[]) => ALL.filter((s) => !except.includes(s));

const expected: Record<PostEvent, Array<[from: PostStatus[], to: PostStatus[]]>> = {
  // A stage starts from a new or resumed post, an earlier stage's status or its own, a failed post, and publish from
  // its schedule; from anything else the job is superseded (leavesUnchanged, below).
  start: [
    [['queued', 'failed', 'ingesting'], ['ingesting']],
    [['queued', 'failed', 'ingesting', 'generating'], ['generating']],
    [['queued', 'failed', 'ingesting', 'generating', 'embedding'], ['embedding']],
    [['queued', 'failed', 'ingesting', 'generating', 'embedding', 'indexing'], ['indexing']],
    [
      ['queued', 'failed', 'ingesting', 'generating', 'embedding', 'indexing', 'publishing', 'scheduled'],
      ['publishing'],
    ],
  ],
  hold: [[WORKING, HOLDS]],
  stop: [
    [WORKING, ['expanded', 'duplicate', 'skipped', 'budget_exceeded', 'cancelled', 'rejected']],
    [['publishing'], ['published']],
  ],
  fail: [[but('published'), ['failed']]],
  approve: [[APPROVABLE, ['queued']]],
  unapprove: [[['queued'], APPROVABLE]],
  reject: [[[...APPROVABLE, 'scheduled'], ['rejected']]],
  cancel: [[but('published', 'publishing', 'cancelled', 'rejected'), ['cancelled']]],
  resume: [[ALL, ['queued']]],
};

describe('the post lifecycle', () => {
  it('knows every status of the post_statuses table and every event', () => {
    expect([...postStatuses]).toEqual(ALL);
    expect([...postEvents].sort()).toEqual(Object.keys(expected).sort());
  });

  it('allows exactly the transitions meant, and no other pair, for every event', () => {
    let legal = 0;
    let illegal = 0;
    for (const event of Object.keys(expected) as PostEvent[]) {
      for (const from of ALL) {
        for (const to of ALL) {
          const meant = expected[event].some(([f, t]) => f.includes(from) && t.includes(to));
          expect(canTransition(event, from, to), `${event}: ${from} → ${to}`).toBe(meant);
          if (meant) legal++;
          else illegal++;
        }
      }
    }
    expect(legal + illegal).toBe(9 * 18 * 18);
    expect(legal).toBe(26 + 20 + 31 + 17 + 5 + 5 + 6 + 14 + 18);
  });

  it('leaves a post that went on without a stage job as it is, without an error, when the job starts late', () => {
    // A duplicate whose hand-off went through, run again after its worker died.
    expect(leavesUnchanged('start', 'generating', 'publishing')).toBe(true);
    expect(leavesUnchanged('start', 'ingesting', 'embedding')).toBe(true);
    // A late job of a held or stopped post.
    for (const status of ['needs_review', 'awaiting_approval', 'cancelled', 'rejected', 'budget_exceeded'] as const)
      expect(leavesUnchanged('start', 'generating', status), status).toBe(true);
    expect(leavesUnchanged('start', 'publishing', 'cancelled')).toBe(true);
    // A retry, a hand-off and a schedule's time are starts, not late ones.
    expect(leavesUnchanged('start', 'generating', 'generating')).toBe(false);
    expect(leavesUnchanged('start', 'embedding', 'generating')).toBe(false);
    expect(leavesUnchanged('start', 'publishing', 'scheduled')).toBe(false);
  });

  it('leaves a published post published, without an error, on a late start, failure or publication', () => {
    expect(leavesUnchanged('start', 'generating', 'published')).toBe(true);
    expect(leavesUnchanged('fail', 'failed', 'published')).toBe(true);
    expect(leavesUnchanged('stop', 'published', 'published')).toBe(true);
    expect(leavesUnchanged('hold', 'needs_review', 'published')).toBe(false);
    expect(leavesUnchanged('stop', 'cancelled', 'published')).toBe(false);
  });

  it('throws for a move no status allows', () => {
    expect(() => assertReachable('hold', 'published')).toThrow(IllegalTransitionError);
    expect(() => assertReachable('approve', 'published')).toThrow(/cannot become published on approve/);
    expect(() => assertReachable('stop', 'published')).not.toThrow();
  });

  it('gives processors one typed outcome for each thing a stage may ask for', () => {
    expect(handOn()).toEqual({ kind: 'handOn' });
    expect(hold('scheduled', 'index', 'later', { at: 1 })).toEqual({
      kind: 'hold',
      status: 'scheduled',
      heldStage: 'index',
      reason: 'later',
      details: { at: 1 },
    });
    expect(stop('expanded')).toEqual({ kind: 'stop', status: 'expanded' });
    const until = new Date(0);
    expect(waitUntil(until, 'breaker open')).toEqual({ kind: 'wait', until, reason: 'breaker open' });
  });

  it('is drawn in the README as the table says (npm run docs:lifecycle rewrites it)', () => {
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
    expect(readme).toContain(README_MARKERS.start);
    expect(withDiagram(readme)).toBe(readme);
    expect(lifecycleDiagram()).toMatch(/^stateDiagram-v2\n/);
  });
});
