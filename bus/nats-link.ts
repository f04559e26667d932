import type { NatsConnection } from '@nats-io/nats-core';
import { ParleyError } from '../protocol/errors.ts';

/** How long after a disconnect or reconnect the bus counts as unsettled (others are resubscribing). */
const UNSETTLED_MS = 10_000;

/**
 * The state of a NATS connection as the bus needs it, from the client's status events.
 *
 * nats.js empties its send buffer every time it dials (NATS is at-most-once; nats-io/nats.node#320), so
 * whatever is published while the connection is down, a request included, is dropped without an error and
 * only the request's timeout tells. After a nats-server restart that cost the first join and mute a full
 * 5 s. `run` therefore sends only on a live connection, waiting for the reconnect if need be, and gives up
 * at once on an operation whose connection dropped under it (its reply can no longer arrive).
 */
export class NatsLink {
  private up = true;
  private closed = false;
  private unsettledUntil = 0;
  private listeners = new Set<() => void>();

  constructor(nc: NatsConnection) {
    void this.watch(nc);
  }

  /** False for UNSETTLED_MS after the connection dropped or came back. */
  stable(): boolean {
    return Date.now() > this.unsettledUntil;
  }

  /** Runs `op` once connected (waiting until `deadline` at most); `what` names it in errors. */
  async run<T>(what: string, deadline: number, op: () => Promise<T>): Promise<T> {
    await this.connected(what, deadline);
    let stop = () => {};
    const dropped = new Promise<never>((_, reject) => {
      stop = this.onChange(() => {
        if (!this.up) reject(new ParleyError('UNAVAILABLE', `connection to NATS lost during ${what}`));
      });
    });
    const pending = op();
    // If the drop wins, the operation still settles later (its own timeout): nobody listens by then.
    pending.catch(() => undefined);
    try {
      return await Promise.race([pending, dropped]);
    } finally {
      stop();
    }
  }

  /**
   * `run` for a JetStream operation (a KV bucket, a stream): whatever keeps it from being done is
   * STORE_UNAVAILABLE, so that callers tell the state store out of reach from a media-worker gone (UNAVAILABLE
   * and TIMEOUT make signaling fail over to another one), and clients get a typed error rather than INTERNAL.
   * A lost compare-and-set (CONFLICT) is an answer, and passes.
   */
  async store<T>(what: string, deadline: number, op: () => Promise<T>): Promise<T> {
    try {
      return await this.run(what, deadline, op);
    } catch (err) {
      if (err instanceof ParleyError && err.code === 'CONFLICT') throw err;
      throw new ParleyError('STORE_UNAVAILABLE', `${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async connected(what: string, deadline: number): Promise<void> {
    while (!this.up) {
      const left = deadline - Date.now();
      if (this.closed) throw new ParleyError('UNAVAILABLE', `NATS connection closed; ${what} not sent`);
      if (left <= 0) throw new ParleyError('TIMEOUT', `no NATS connection; ${what} not sent`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => done(), left);
        const stop = this.onChange(() => done());
        const done = () => {
          clearTimeout(timer);
          stop();
          resolve();
        };
      });
    }
  }

  private onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      // A refused publish or subscribe (permissions) or a rejected reconnect (credentials) only shows here.
      if (status.type === 'error') console.error(`[bus] NATS error: ${status.error.message}`);
      if (status.type === 'disconnect') this.set(false);
      // Sent after nats.js has re-sent our subscriptions: a request sent from now on gets its reply.
      else if (status.type === 'reconnect') this.set(true);
    }
    this.closed = true;
    this.set(false);
  }

  private set(up: boolean): void {
    // Unsettled first: whoever hears of a drop (e.g. a failed lease renewal) must already see it.
    if (!this.closed) this.unsettledUntil = Date.now() + UNSETTLED_MS;
    this.up = up;
    for (const listener of [...this.listeners]) listener();
  }
}
