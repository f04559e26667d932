import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '../../bus/bus.ts';
import { ParleyError } from '../../protocol/errors.ts';

export interface BusBackend {
  /** A new client of the same backend: two clients model two processes. */
  connect(): Promise<Bus>;
  stop(): Promise<void>;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The one behaviour both buses must share; run once per implementation. */
export function busContract(name: string, start: () => Promise<BusBackend>): void {
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
      await kvA.delete('lounge.mw-1');
      await kvA.delete('lounge.mw-2');
      await kvA.delete('loungeX.mw-1');
      await kvB.delete('room-1');
      expect(await kvA.get('room-1')).toBeNull();
      expect(await kvA.keys()).toEqual(['room-2']);
      await kvA.create('room-1', 'again');
      expect((await kvB.get('room-1'))?.value).toBe('again');
    });

    it('reports current values, then writes and deletes, to watchers on other clients', async () => {
      const bucket = `watch-${name}-${Date.now()}`;
      const kvA = await a.kv(bucket);
      await kvA.put('before', 1);
      const seen: [string, unknown][] = [];
      const watch = await (await b.kv(bucket)).watch((key, value) => seen.push([key, value]));
      await waitFor(() => seen.length === 1);
      await kvA.put('after', { n: 2 });
      await kvA.delete('before');
      await waitFor(() => seen.length === 3);
      expect(seen).toEqual([
        ['before', 1],
        ['after', { n: 2 }],
        ['before', null],
      ]);
      watch.unsubscribe();
      await kvA.put('ignored', 3);
      await wait(200);
      expect(seen).toHaveLength(3);
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
