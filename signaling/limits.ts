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

  /** Takes `count` tokens if there are that many. */
  tryTake(now = Date.now(), count = 1): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < count) return false;
    this.tokens -= count;
    return true;
  }
}

export interface ConnectionCaps {
  perIdentity: number;
  perAddress: number;
  ratePerSecond: number;
  rateBurst: number;
}

/** A connection's share of its identity's limits; `release` when the socket closes. */
export interface ConnectionSlot {
  limiter: RateLimiter;
  release(): void;
}

/**
 * Open connections by identity (token subject) and by client address on this instance, and the request
 * bucket an identity's connections share: a client cannot buy itself more requests by opening sockets.
 */
export class ConnectionLimits {
  private identities = new Map<string, { sockets: number; limiter: RateLimiter; forget?: ReturnType<typeof setTimeout> }>();
  private addresses = new Map<string, number>();

  constructor(private caps: ConnectionCaps) {}

  /** A slot for a new connection, or why there is none. */
  admit(identity: string, address: string | undefined): ConnectionSlot | { refusal: string } {
    const entry = this.identities.get(identity);
    if ((entry?.sockets ?? 0) >= this.caps.perIdentity) {
      return { refusal: `too many connections for this identity (at most ${this.caps.perIdentity})` };
    }
    if (address !== undefined && (this.addresses.get(address) ?? 0) >= this.caps.perAddress) {
      return { refusal: `too many connections from this address (at most ${this.caps.perAddress})` };
    }
    const held = entry ?? { sockets: 0, limiter: new RateLimiter(this.caps.ratePerSecond, this.caps.rateBurst) };
    clearTimeout(held.forget);
    held.sockets++;
    this.identities.set(identity, held);
    if (address !== undefined) this.addresses.set(address, (this.addresses.get(address) ?? 0) + 1);
    let released = false;
    return {
      limiter: held.limiter,
      release: () => {
        if (released) return;
        released = true;
        if (address !== undefined) this.release(this.addresses, address);
        held.sockets--;
        // Kept until its bucket has refilled, so closing and reopening does not reset it early.
        if (held.sockets === 0) {
          const refillMs = (this.caps.rateBurst / this.caps.ratePerSecond) * 1000;
          held.forget = setTimeout(() => {
            if (held.sockets === 0) this.identities.delete(identity);
          }, refillMs);
        }
      },
    };
  }

  close(): void {
    for (const entry of this.identities.values()) clearTimeout(entry.forget);
  }

  private release(map: Map<string, number>, key: string): void {
    const n = (map.get(key) ?? 1) - 1;
    if (n <= 0) map.delete(key);
    else map.set(key, n);
  }
}
