// The time the publishing plan is made and checked against. It is the system clock; tests move it
// forward (setClockOffsetForTests) to reach a publishing window without waiting for it. Delayed jobs
// are added with `publishAt - now()`, so a moved clock still wakes them at the planned moment.

let offsetMs = 0;

export function now(): number {
  return Date.now() + offsetMs;
}

/** Test-only: the clock runs `ms` ahead of (or behind) the system's in this process. */
export function setClockOffsetForTests(ms: number): void {
  offsetMs = ms;
}
