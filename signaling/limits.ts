/** A token bucket: `burst` requests at once, refilled at `perSecond`. */
export class RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    private perSecond: number,
    private burst: number,
    now = Date.now(),
  ) {
    this.tokens = burst;
    this.last = now;
  }

  tryTake(now = Date.now()): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
