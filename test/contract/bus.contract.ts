import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '../../bus/bus.ts';
import { ParleyError } from '../../protocol/errors.ts';
import { NATS_MAX_PAYLOAD_BYTES } from '../../protocol/limits.ts';

export interface BusBackend {
  /** A new client of the same backend: two clients model two processes. */
  connect(): Promise<Bus>;
  stop(): Promise<void>;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The one behaviour both buses must share; run once per implementation. */
export function busContract(name: string, start: () => Promise<BusBackend>): void {
  const name_ = name;
  describe(`Bus contract: ${name}`, () => {
    let backend: BusBackend;
    let a: Bus;
    let b: Bus;
    let n = 0;
    const subject = (s: string) => `test.${name}.${++n}.${s}`;

    beforeAll(async () => {
      backend = await start();
      a = await backend.connect();
      b = await backend.connect();
    });
    afterAll(async () => {
      await a.close();
      await b.close();
      await backend.stop();
    });

    it('answers a request across clients, with headers', async () => {
      const s = subject('echo');
      const sub = b.serve(s, async (msg) => ({ got: msg.data, trace: msg.headers.traceparent }));
      await b.flush();
      const reply = await a.request(s, { x: 1 }, { headers: { traceparent: '00-abc-def-01' } });
      expect(reply).toEqual({ got: { x: 1 }, trace: '00-abc-def-01' });
      sub.unsubscribe();
    });

    it('carries error codes from handler to caller', async () => {
      const s = subject('fail');
      const sub = b.serve(s, async () => {
        throw new ParleyError('NOT_FOUND', 'no such thing');
      });
      await b.flush();
      await expect(a.request(s, {})).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'no such thing' });
      sub.unsubscribe();
    });

    it('turns unexpected handler errors into INTERNAL', async () => {
      const s = subject('boom');
      const sub = b.serve(s, async () => {
        throw new Error('kaput');
      });
      await b.flush();
      await expect(a.request(s, {})).rejects.toMatchObject({ code: 'INTERNAL' });
      sub.unsubscribe();
    });

    it('fails fast with UNAVAILABLE when nobody serves the subject', async () => {
      const started = Date.now();
      const err = await a.request(subject('nobody'), {}, { timeoutMs: 3000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ParleyError);
      expect((err as ParleyError).code).toBe('UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('times out with TIMEOUT when the handler is too slow', async () => {
      const s = subject('slow');
      const sub = b.serve(s, () => wait(1000).then(() => 'late'));
      await b.flush();
      await expect(a.request(s, {}, { timeoutMs: 200 })).rejects.toMatchObject({ code: 'TIMEOUT' });
      sub.unsubscribe();
    });

    it('routes wildcard serve subjects and tells the handler the concrete subject', async () => {
      const base = subject('cmd');
      const sub = b.serve(`${base}.*`, async (msg) => msg.subject);
      await b.flush();
      expect(await a.request(`${base}.join`, {})).toBe(`${base}.join`);
      sub.unsubscribe();
    });

    it('drops a publish over the max payload without throwing, and goes on delivering', async () => {
      const s = subject('oversize');
      const seen: unknown[] = [];
      const sub = b.subscribe(s, (msg) => seen.push(msg.data));
      await b.flush();
      expect(() => a.publish(s, { blob: 'x'.repeat(NATS_MAX_PAYLOAD_BYTES) })).not.toThrow();
      a.publish(s, { n: 1 });
      await a.flush();
      await waitFor(() => seen.length === 1);
      await wait(100);
      expect(seen).toEqual([{ n: 1 }]);
      sub.unsubscribe();
    });

    it('answers with LIMIT, at once, when a reply is over the max payload', async () => {
      const base = subject('huge-reply');
      const sub = b.serve(base, async () => ({ blob: 'x'.repeat(NATS_MAX_PAYLOAD_BYTES) }));
      await b.flush();
      const started = Date.now();
      const err = await a.request(base, {}, { timeoutMs: 3000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ParleyError);
      expect((err as ParleyError).code).toBe('LIMIT');
      expect(Date.now() - started).toBeLessThan(1000);
      sub.unsubscribe();
    });

    it('delivers publishes to every subscriber until it unsubscribes', async () => {
      const s = subject('events');
      const seen: unknown[] = [];
      const sub = b.subscribe(`${s}.>`, (msg) => seen.push(msg.data));
      await b.flush();
      a.publish(`${s}.x`, { n: 1 });
      a.publish(`${s}.y.z`, { n: 2 });
      await a.flush();
      await waitFor(() => seen.length === 2);
      sub.unsubscribe();
      await b.flush();
      a.publish(`${s}.x`, { n: 3 });
      await a.flush();
      await wait(200);
      expect(seen).toEqual([{ n: 1 }, { n: 2 }]);
    });

    it('shares key/value state between clients with compare-and-set', async () => {
      const bucket = `contract-${name}-${Date.now()}`;
      const kvA = await a.kv(bucket);
      const kvB = await b.kv(bucket);
      const rev = await kvA.create('room-1', 'mw-a');
      expect(await kvB.get('room-1')).toEqual({ value: 'mw-a', revision: rev });
      await expect(kvB.create('room-1', 'mw-b')).rejects.toMatchObject({ code: 'CONFLICT' });
      await expect(kvB.update('room-1', 'mw-b', rev + 100)).rejects.toMatchObject({ code: 'CONFLICT' });
      await kvB.update('room-1', 'mw-b', rev);
      expect((await kvA.get('room-1'))?.value).toBe('mw-b');
      await kvA.put('room-2', { n: 2 });
      expect((await kvB.keys()).sort()).toEqual(['room-1', 'room-2']);
      await kvA.put('lounge.mw-1', 1);
      await kvA.put('lounge.mw-2', 2);
      await kvA.put('loungeX.mw-1', 3);
      expect((await kvB.keys('lounge.')).sort()).toEqual(['lounge.mw-1', 'lounge.mw-2']);
      const lounge = (await kvB.entries('lounge.')).sort(([a], [b]) => a.localeCompare(b));
      expect(lounge.map(([key, entry]) => [key, entry.value])).toEqual([
        ['lounge.mw-1', 1],
        ['lounge.mw-2', 2],
      ]);
      expect(lounge[1]![1].revision).toBeGreaterThan(lounge[0]![1].revision);
      await kvA.delete('lounge.mw-1');
      await kvA.delete('lounge.mw-2');
      await kvA.delete('loungeX.mw-1');
      await kvB.delete('room-1');
      expect(await kvA.get('room-1')).toBeNull();
      expect(await kvA.keys()).toEqual(['room-2']);
      const again = await kvA.create('room-1', 'again');
      expect((await kvB.get('room-1'))?.value).toBe('again');
      expect(await kvB.lastRevision()).toBe(again);
      await kvA.delete('room-2');
      expect(await kvB.lastRevision()).toBeGreaterThan(again);
    });

    it('reports current values, then writes and deletes, to watchers on other clients', async () => {
      const bucket = `watch-${name}-${Date.now()}`;
      const kvA = await a.kv(bucket);
      await kvA.put('before', 1);
      const seen: [string, unknown][] = [];
      const revisions: number[] = [];
      const watch = await (await b.kv(bucket)).watch((key, value, revision) => {
        seen.push([key, value]);
        revisions.push(revision);
      });
      await waitFor(() => seen.length === 1);
      const written = await kvA.put('after', { n: 2 });
      await kvA.delete('before');
      await waitFor(() => seen.length === 3);
      expect(seen).toEqual([
        ['before', 1],
        ['after', { n: 2 }],
        ['before', null],
      ]);
      // Each change carries its revision, in order: a reader can tell an older value from a newer one.
      expect(revisions[1]).toBe(written);
      expect(revisions[0]).toBeLessThan(revisions[1]!);
      expect(revisions[2]).toBeGreaterThan(revisions[1]!);
      watch.unsubscribe();
      await kvA.put('ignored', 3);
      await wait(200);
      expect(seen).toHaveLength(3);
    });

    it('stores stream messages per subject in order, after a sequence, deduplicated by message id', async () => {
      const name = `contract-stream-${name_}-${Date.now()}`;
      const base = `stream.${name_}.${Date.now()}`;
      const sA = await a.stream(name, { subjects: [`${base}.>`] });
      const sB = await b.stream(name, { subjects: [`${base}.>`] });
      expect(await sB.read(`${base}.room-1`)).toEqual([]);
      const one = await sA.publish(`${base}.room-1`, { n: 1 }, { msgId: 'm-1' });
      const other = await sA.publish(`${base}.room-2`, { n: 9 });
      const two = await sB.publish(`${base}.room-1`, { n: 2 });
      expect(other).toBeGreaterThan(one);
      expect(two).toBeGreaterThan(other);
      expect(await sA.publish(`${base}.room-1`, { n: 1 }, { msgId: 'm-1' })).toBe(one);
      const all = await sB.read(`${base}.room-1`);
      expect(all.map((m) => [m.seq, m.data])).toEqual([
        [one, { n: 1 }],
        [two, { n: 2 }],
      ]);
      expect(all[0]!.time).toBeGreaterThan(Date.now() - 60_000);
      expect((await sA.read(`${base}.room-1`, { afterSeq: one })).map((m) => m.data)).toEqual([{ n: 2 }]);
      expect(await sA.read(`${base}.room-1`, { afterSeq: two })).toEqual([]);
      await sB.purge(`${base}.room-1`);
      expect(await sA.read(`${base}.room-1`)).toEqual([]);
      expect((await sA.read(`${base}.room-2`)).map((m) => m.data)).toEqual([{ n: 9 }]);
    });

    it('keeps the newest messages of each subject within the count and age limits', async () => {
      const name = `contract-limits-${name_}-${Date.now()}`;
      const base = `limits.${name_}.${Date.now()}`;
      const stream = await a.stream(name, { subjects: [`${base}.>`], maxMsgsPerSubject: 3, maxAgeMs: 1500 });
      for (let n = 1; n <= 5; n++) await stream.publish(`${base}.x`, n);
      await stream.publish(`${base}.y`, 'y');
      expect((await stream.read(`${base}.x`)).map((m) => m.data)).toEqual([3, 4, 5]);
      expect((await stream.read(`${base}.y`)).map((m) => m.data)).toEqual(['y']);
      await waitFor(async () => (await stream.read(`${base}.x`)).length === 0, 5000);
    }, 10_000);

    it('delivers stored messages to plain subscribers too', async () => {
      const base = `fanout.${name_}.${Date.now()}`;
      const stream = await a.stream(`contract-fanout-${name_}-${Date.now()}`, { subjects: [`${base}.>`] });
      const seen: unknown[] = [];
      const sub = b.subscribe(`${base}.>`, (msg) => seen.push(msg.data));
      await b.flush();
      await stream.publish(`${base}.live`, { hello: 1 });
      await waitFor(() => seen.length === 1);
      expect(seen).toEqual([{ hello: 1 }]);
      sub.unsubscribe();
    });

    it('shares a durable consumer: each message handled once, retried with a delay, handed on after the ack wait', async () => {
      const name = `contract-durable-${name_}-${Date.now()}`;
      const base = `durable.${name_}.${Date.now()}`;
      const stream = await a.stream(name, { subjects: [`${base}.>`] });
      await stream.publish(`${base}.before`, 'before the consumer existed');
      const handled: { by: string; data: unknown; attempt: number; at: number }[] = [];
      const retryAt = new Map<unknown, number>();
      /** `a` never answers for 'stuck' (as if its process died mid-delivery); `b` does. */
      const handler = (by: string) => async (m: { data: unknown; attempt: number }) => {
        handled.push({ by, data: m.data, attempt: m.attempt, at: Date.now() });
        if (m.data === 'stuck' && by === 'a') return new Promise<never>(() => undefined);
        if (m.data === 'retry' && m.attempt === 1) {
          retryAt.set(m.data, Date.now());
          return { retryInMs: 500 };
        }
        if (m.data === 'poison') return { term: true } as const;
        return { ack: true } as const;
      };
      const options = { ackWaitMs: 1500, concurrency: 4 };
      const subA = await (await a.stream(name, { subjects: [`${base}.>`] })).consume('hooks', handler('a'), options);
      const subB = await (await b.stream(name, { subjects: [`${base}.>`] })).consume('hooks', handler('b'), options);
      for (let n = 0; n < 10; n++) await stream.publish(`${base}.n`, n);
      await stream.publish(`${base}.r`, 'retry');
      await stream.publish(`${base}.p`, 'poison');
      await waitFor(() => handled.filter((h) => typeof h.data === 'number').length === 10);
      await waitFor(() => handled.filter((h) => h.data === 'retry').length === 2);
      const retried = handled.filter((h) => h.data === 'retry');
      expect(retried.map((h) => h.attempt)).toEqual([1, 2]);
      expect(retried[1]!.at - retryAt.get('retry')!).toBeGreaterThanOrEqual(400);
      expect(
        handled
          .filter((h) => typeof h.data === 'number')
          .map((h) => h.data)
          .sort((x, y) => Number(x) - Number(y)),
      ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(handled.some((h) => h.data === 'before the consumer existed')).toBe(false);

      // `a` alone takes 'stuck' and never answers, then dies: after the ack wait the message goes to `b`.
      subB.unsubscribe();
      subA.unsubscribe();
      const subA2 = await (await a.stream(name, { subjects: [`${base}.>`] })).consume('hooks', handler('a'), options);
      await stream.publish(`${base}.s`, 'stuck');
      await waitFor(() => handled.some((h) => h.data === 'stuck' && h.by === 'a'));
      subA2.unsubscribe();
      const subB2 = await (await b.stream(name, { subjects: [`${base}.>`] })).consume('hooks', handler('b'), options);
      await waitFor(() => handled.some((h) => h.data === 'stuck' && h.by === 'b'), 8000);
      expect(handled.find((h) => h.data === 'stuck' && h.by === 'b')?.attempt).toBe(2);
      await wait(500);
      expect(handled.filter((h) => h.data === 'poison')).toHaveLength(1);
      expect(handled.filter((h) => h.data === 'stuck' && h.by === 'b')).toHaveLength(1);
      subB2.unsubscribe();
    }, 20_000);

    it('stores a refresh (a put nobody waits for) as a put, seen by readers and watchers, which keeps it alive', async () => {
      const bucket = `refresh-${name}-${Date.now()}`;
      const kvA = await a.kv(bucket, { ttlMs: 1000 });
      const kvB = await b.kv(bucket, { ttlMs: 1000 });
      const seen: unknown[] = [];
      const watch = await kvB.watch((key, value) => seen.push([key, value]));
      const put = await kvA.put('peer', { beat: 0 });
      for (let beat = 1; beat <= 4; beat++) {
        kvA.refresh('peer', { beat });
        await waitFor(async () => ((await kvB.get('peer'))?.value as { beat: number } | undefined)?.beat === beat);
        await wait(400);
      }
      // 1.6 s of refreshes every 0.4 s, past the 1 s TTL: alive, newer, and each one watched.
      const entry = await kvB.get('peer');
      expect(entry?.value).toEqual({ beat: 4 });
      expect(entry!.revision).toBeGreaterThan(put);
      await waitFor(() => seen.length === 5);
      expect(seen.at(-1)).toEqual(['peer', { beat: 4 }]);
      watch.unsubscribe();
    });

    it('forgets entries that are not written again within the bucket TTL', async () => {
      const kv = await a.kv(`ttl-${name}-${Date.now()}`, { ttlMs: 1000 });
      await kv.put('instance', { alive: true });
      expect(await kv.get('instance')).not.toBeNull();
      await waitFor(async () => (await kv.get('instance')) === null, 5000);
      expect(await kv.keys()).toEqual([]);
    });
  });
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await wait(50);
  }
}
