/** Every rule that depends on time asks a Clock, never `Date.now()`, so tests and demos can move time. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * A clock that can be moved forward (tests, and the local stack's demo mode). Moving it changes what
 * "now" is for every rule at once; it never changes a rule.
 */
export class AdjustableClock implements Clock {
  private offsetMs = 0;
  constructor(
    private readonly base: Clock = systemClock,
    private fixed?: Date,
  ) {}

  now(): Date {
    if (this.fixed) return new Date(this.fixed.getTime() + this.offsetMs);
    return new Date(this.base.now().getTime() + this.offsetMs);
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }

  set(to: Date): void {
    this.fixed = to;
    this.offsetMs = 0;
  }

  get offset(): number {
    return this.offsetMs;
  }
}
