import { describe, expect, it } from 'vitest';
import { createLocalSlots } from '../../src/llm/concurrency.ts';

describe('a process’s model slots', () => {
  it('lets at most max callers in and the others in arrival order, each release admitting one', async () => {
    const slots = createLocalSlots(2);
    const order: number[] = [];
    const releases: (() => void)[] = [];
    const take = (i: number) =>
      slots.acquire().then((release) => {
        order.push(i);
        releases[i] = release;
      });
    const all = [0, 1, 2, 3, 4].map(take);
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([0, 1]);
    expect(slots.busy).toBe(2);
    expect(slots.waiting).toBe(3);

    releases[1]!();
    releases[1]!(); // a second release of the same slot changes nothing
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([0, 1, 2]);
    expect(slots.waiting).toBe(2);

    releases[0]!();
    releases[2]!();
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([0, 1, 2, 3, 4]);
    releases[3]!();
    releases[4]!();
    await Promise.all(all);
    expect(slots.busy).toBe(0);
    expect(slots.waiting).toBe(0);
  });
});
