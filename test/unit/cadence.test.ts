import { describe, expect, it } from 'vitest';
import { cadenceSchema, nextCommonSlot, nextSlot, zonedTime } from '../../src/publish/cadence.ts';

const berlin = (iso: string) => {
  const [d, t] = iso.split('T') as [string, string];
  const [y, m, day] = d.split('-').map(Number) as [number, number, number];
  const [h, mi, s = 0] = t.split(':').map(Number) as [number, number, number?];
  return zonedTime(y, m, day, h, mi, 'Europe/Berlin') + s * 1000;
};

/** Plans `n` posts one after the other, as the publish stage does under the tenant's lock. */
function plan(cadence: ReturnType<typeof cadenceSchema.parse>, n: number, from: number) {
  const busy: number[] = [];
  for (let i = 0; i < n; i++) busy.push(nextSlot(cadence, busy, from));
  return busy;
}

describe('cadence planning', () => {
  it('converts local wall-clock times across a DST change', () => {
    expect(new Date(berlin('2030-03-30T08:00')).toISOString()).toBe('2030-03-30T07:00:00.000Z');
    expect(new Date(berlin('2030-03-31T08:00')).toISOString()).toBe('2030-03-31T06:00:00.000Z');
    expect(new Date(zonedTime(2030, 1, 1, 9, 30, 'America/New_York')).toISOString()).toBe('2030-01-01T14:30:00.000Z');
  });

  it('spreads 20 approvals over the coming days: 3 a day, in the window, an hour apart', () => {
    const cadence = cadenceSchema.parse({
      maxPerDay: 3,
      timeZone: 'Europe/Berlin',
      window: { start: '08:00', end: '18:00' },
      minGapMinutes: 60,
    });
    const slots = plan(cadence, 20, berlin('2030-03-28T07:12'));
    const expected = [];
    for (let day = 28; day <= 34; day++)
      for (const hour of ['08:00', '09:00', '10:00']) {
        const date = day <= 31 ? `2030-03-${day}` : `2030-04-0${day - 31}`;
        expected.push(berlin(`${date}T${hour}`));
      }
    expect(slots.map((s) => new Date(s).toISOString())).toEqual(
      expected.slice(0, 20).map((s) => new Date(s).toISOString()),
    );
    // The DST change on the 31st moves the UTC times an hour, not the local ones.
    expect(new Date(slots[9]!).toISOString()).toBe('2030-03-31T06:00:00.000Z');
  });

  it('starts in the open window, skips a full day and a closed window', () => {
    const cadence = cadenceSchema.parse({ maxPerDay: 2, timeZone: 'UTC', window: { start: '09:00', end: '10:00' } });
    const from = Date.parse('2030-01-01T09:30:00Z');
    expect(plan(cadence, 3, from).map((t) => new Date(t).toISOString())).toEqual([
      '2030-01-01T09:30:00.000Z',
      '2030-01-01T09:30:00.000Z',
      '2030-01-02T09:00:00.000Z',
    ]);
    expect(new Date(nextSlot(cadence, [], Date.parse('2030-01-01T10:00:00Z'))).toISOString()).toBe(
      '2030-01-02T09:00:00.000Z',
    );
  });

  it('keeps the gap around slots moved by hand, on both sides', () => {
    const cadence = cadenceSchema.parse({ maxPerDay: 10, minGapMinutes: 30 });
    const busy = [Date.parse('2030-01-01T12:10:00Z')];
    expect(new Date(nextSlot(cadence, busy, Date.parse('2030-01-01T12:00:00Z'))).toISOString()).toBe(
      '2030-01-01T12:40:00.000Z',
    );
  });

  it('a post to two destinations gets a time both allow', () => {
    const a = cadenceSchema.parse({ maxPerDay: 1, timeZone: 'UTC', window: { start: '08:00', end: '12:00' } });
    const b = cadenceSchema.parse({ maxPerDay: 5, timeZone: 'Asia/Tokyo', window: { start: '18:00', end: '20:00' } });
    // Tokyo's 18:00-20:00 is 09:00-11:00 UTC.
    const at = nextCommonSlot(
      [
        { cadence: a, busy: [] },
        { cadence: b, busy: [] },
      ],
      Date.parse('2030-01-01T07:00:00Z'),
    );
    expect(new Date(at).toISOString()).toBe('2030-01-01T09:00:00.000Z');
  });

  it('refuses bad settings naming the field', () => {
    const bad = cadenceSchema.safeParse({
      maxPerDay: 0,
      timeZone: 'Mars/Base',
      window: { start: '18:00', end: '08:00' },
      minGapMinutes: -1,
    });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['maxPerDay', 'timeZone', 'window.end', 'minGapMinutes']));
    expect(cadenceSchema.safeParse({ maxPerDay: 3, window: { start: '8:00', end: '18:00' } }).success).toBe(false);
  });
});
