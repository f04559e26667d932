import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientRemedy } from '../../protocol/telemetry.ts';
import { ancestry, JOIN_TRANSPORT_CHAIN, orphans, traceFromApi } from '../../harness/traces.ts';
import { inboundSummary, joinFromLobby, launchChromium, openParley, SCREENSHOTS } from '../../harness/browser.ts';
import { startEmbedded, TEST_SECRET } from '../../harness/cluster.ts';
import { issueToken } from '../../signaling/auth.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { repoRoot } from '../../harness/processes.ts';
import { adminToken } from '../../harness/probes.ts';
import { DebugTracesResponse } from '../../protocol/http.ts';

const SERVICES = ['parley-web', 'parley-signaling', 'parley-bus', 'parley-media-worker'];

/**
 * Two people in a room and an operator on /debug (embedded default): the dashboard shows the room, both
 * peers and their consumers as healthy, and a consumer's trace runs from the browser through signaling and
 * the bus into the media worker. Then the doctor's remedies, carried out by a browser. The steps share the
 * room and run in order. SCREENSHOT=1 also refreshes docs/img/debug-dashboard.png.
 */
describe('the /debug dashboard', () => {
  let cluster: Cluster;
  let browser: Browser;
  let alice: Page, bob: Page, ops: Page;
  const room = `debug-${Date.now()}`;
  const card = () => ops.locator(`[data-testid=debug-room][data-room="${room}"]`);
  const peerCard = (name: string) =>
    card()
      .getByTestId('debug-peer')
      .filter({ has: ops.locator('h4', { hasText: name }) });
  const timeline = () => ops.getByTestId('trace-timeline');
  const spanNames = () => timeline().getByTestId('trace-span').locator('.dbg-span-name').allInnerTexts();

  beforeAll(async () => {
    [cluster, browser] = await Promise.all([startEmbedded(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  it('shows the room, both peers and their healthy consumers; a consumer opens its trace across every tier', async () => {
    const base = cluster.signaling[0]!;
    alice = await openParley(browser, base);
    bob = await openParley(browser, base);
    await joinFromLobby(alice, room, 'Alice');
    // Alice's camera is published before Bob joins, so Bob's join (not her publish) makes his consumer of it.
    await alice.waitForFunction(() => Boolean(window.parley?.call?.producer('camera')?.id));
    await joinFromLobby(bob, room, 'Bob');
    await Promise.all([receivesMedia(alice), receivesMedia(bob)]);

    ops = await openParley(browser, `${base}/debug`, { viewport: { width: 1440, height: 900 } });
    // An operator's token, as `npm run token -- --name Ops --admin` mints it with the deployment's secret.
    await ops.getByLabel('Admin token').fill(await issueToken(TEST_SECRET, { identity: 'ops', name: 'Ops', admin: true }));
    await ops.getByRole('button', { name: 'Open the dashboard' }).click();
    await card().waitFor();
    const peers = card().getByTestId('debug-peer');
    await expect.poll(() => peers.locator('h4').allInnerTexts()).toEqual(['Alice', 'Bob']);

    // Each consumes the other's microphone and camera; the doctor calls them pending for their first moments.
    const consumers = card().getByTestId('debug-consumer');
    const started = Date.now();
    await expect
      .poll(() => attributes(consumers, 'data-status'), { timeout: 30_000, interval: 500 })
      .toEqual(['healthy', 'healthy', 'healthy', 'healthy']);
    console.log(`[e2e] dashboard: 4 consumers healthy ${Date.now() - started} ms after the dashboard showed the room`);
    expect(await attributes(consumers, 'data-cause')).toEqual(['', '', '', '']);

    // Bob joined second: his consumers were made by his join, so their trace is his join's.
    const bobJoin = await bob.evaluate(() => window.parley?.traces().join);
    expect(bobJoin).toMatch(/^[0-9a-f]{32}$/);
    const bobsCamera = peerCard('Bob').getByTestId('debug-consumer').filter({ hasText: 'camera of Alice' });
    await bobsCamera.click();
    await expect
      .poll(() => timeline().getAttribute('data-trace-id'))
      .toBe(bobJoin)
      .catch(async (err) => {
        // Name the trace that made the consumer instead (a later consume, or a publish after Bob's join).
        const opened = await timeline().getAttribute('data-trace-id');
        const roots = opened ? (await traceFromApi(base, opened)).filter((s) => !s.parentSpanId) : [];
        throw new Error(`${err}; the consumer's trace has roots ${roots.map((s) => `${s.service}:${s.name}`)}`);
      });

    const spans = timeline().getByTestId('trace-span');
    await expect
      .poll(async () => [...new Set(await attributes(spans, 'data-service'))].sort(), { timeout: 15_000, interval: 500 })
      .toEqual([...SERVICES].sort());
    const names = await spanNames();
    console.log(
      `[e2e] dashboard: Bob's join trace has ${names.length} spans: ${countByValue(await attributes(spans, 'data-service'))}`,
    );
    expect(names).toEqual(expect.arrayContaining(['join', 'consume', 'publish camera', 'parley.v1/consume']));

    // The same trace from the API: one tree from the click down to the mediasoup call, every parent present.
    const joinSpans = await traceFromApi(base, bobJoin!);
    expect(joinSpans.filter((s) => !s.parentSpanId).map((s) => `${s.service}:${s.name}`)).toEqual(['parley-web:join']);
    expect(orphans(joinSpans)).toEqual([]);
    const span = (service: string, name: string) => joinSpans.find((s) => s.service === service && s.name === name);
    expect(ancestry(joinSpans, span('parley-bus', 'process parley.v1.media.{instance}.join'))).toEqual([
      'parley-web:join',
      'parley-web:request join',
      'parley-signaling:parley.v1/join',
      'parley-bus:send parley.v1.media.{instance}.join',
      'parley-bus:process parley.v1.media.{instance}.join',
    ]);
    expect(ancestry(joinSpans, span('parley-media-worker', 'mediasoup.createWebRtcTransport'))).toEqual(JOIN_TRANSPORT_CHAIN);

    // Opened from a consumer, its span in the media worker is selected: its life as events.
    await expect
      .poll(() => ops.getByTestId('span-details').locator('dd').allInnerTexts())
      .toContain(await bobsCamera.getAttribute('data-consumer-id'));
    await expect.poll(() => timeline().getByTestId('trace-event').count()).toBeGreaterThan(0);

    if (process.env.SCREENSHOT === '1') {
      const file = path.join(repoRoot, 'docs', 'img', 'debug-dashboard.png');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      await ops.screenshot({ path: file });
    }
    // Last: a full-page capture resizes the viewport, which resets the trace panel's scroll.
    await ops.screenshot({ path: path.join(SCREENSHOTS, 'debug-dashboard-full.png'), fullPage: true });
  });

  it('a browser carries out the doctor’s remedies, each in a trace of its own', async () => {
    const camera = peerCard('Alice').getByTestId('debug-consumer').filter({ hasText: 'camera of Bob' }).first();
    const [consumerId, producerId] = [
      await camera.getAttribute('data-consumer-id'),
      await camera.getAttribute('data-producer-id'),
    ];
    const recvTransport = await peerCard('Alice')
      .getByTestId('debug-transport')
      .filter({ hasText: 'recv' })
      .getAttribute('title');
    if (!consumerId || !producerId || !recvTransport) throw new Error('the dashboard shows no ids');
    const consumersAtAlice = () => alice.evaluate(() => window.parley?.call?.consumers().map((c) => c.id) ?? []);

    // reconsume: the local consumer is replaced by a new one, in the same tile, with media.
    await remedy(alice, { action: 'reconsume', consumerId, producerId, cause: 'decoder-stall' });
    await expect
      .poll(async () => (await consumersAtAlice()).length === 2 && !(await consumersAtAlice()).includes(consumerId))
      .toBe(true);
    const replaced = await consumersAtAlice();
    await receivesMedia(alice);
    expect(await alice.getByTestId('remote-tile').locator('video').count()).toBe(1);
    // Ours, or the real doctor's if it asked first (under load it may: our remedy is then a no-op of its own).
    let reconsumeTrace: string | undefined;
    await expect
      .poll(async () => (reconsumeTrace = await reconsumedIn(cluster.signaling[0]!, consumerId)), {
        timeout: 15_000,
        interval: 500,
      })
      .toMatch(/^[0-9a-f]{32}$/);

    // The old consumer's closing, told twice, and a remedy about it again: nothing changes.
    for (let i = 0; i < 2; i++) {
      await alice.evaluate(
        ([c, p]) =>
          window.parley?.call?.onNotification({ notification: 'consumerClosed', data: { consumerId: c!, producerId: p! } }),
        [consumerId, producerId],
      );
    }
    await remedy(alice, { action: 'reconsume', consumerId, producerId, cause: 'decoder-stall' });
    await ops.waitForTimeout(500);
    expect(await consumersAtAlice()).toEqual(replaced);
    expect(await alice.getByTestId('remote-tile').locator('video').count()).toBe(1);

    // restart-ice on the receive transport, through the same path as an ICE failure.
    const iceTrace = await remedy(alice, { action: 'restart-ice', transportId: recvTransport, cause: 'transport-not-connected' });
    await expect.poll(() => alice.evaluate(() => window.parley?.traces()['restart-ice'])).toMatch(/^[0-9a-f]{32}$/);
    expect(iceTrace).not.toBe(reconsumeTrace);

    await ops.locator(`[data-testid=debug-trace][data-trace-id="${iceTrace}"]`).click({ timeout: 15_000 });
    await expect
      .poll(spanNames, { timeout: 15_000, interval: 500 })
      .toEqual(expect.arrayContaining(['remedy', 'restart-ice', 'request restartIce', 'parley.v1/restartIce']));
    await ops.locator(`[data-testid=debug-trace][data-trace-id="${reconsumeTrace}"]`).click();
    await expect
      .poll(spanNames, { timeout: 15_000, interval: 500 })
      .toEqual(expect.arrayContaining(['remedy', 'consume', 'parley.v1/consume']));
    await receivesMedia(alice);
  });

  it('a dropped WebSocket is one trace (reconnect, resume); mute and unmute are traces too', async () => {
    await alice.evaluate(() => window.parley?.client?.drop());
    // The resume, a child of the reconnect, starts once a new socket is open.
    const sameTrace = async () => {
      const t = await alice.evaluate(() => window.parley?.traces());
      return !!t?.reconnect && t.resume === t.reconnect;
    };
    await expect.poll(sameTrace, { timeout: 15_000 }).toBe(true);
    await alice.locator('[data-testid=connection][data-state=connected]').waitFor();
    const traces = await alice.evaluate(() => window.parley?.traces());
    await ops.locator(`[data-testid=debug-trace][data-trace-id="${traces?.reconnect}"]`).click({ timeout: 15_000 });
    await expect
      .poll(spanNames, { timeout: 15_000, interval: 500 })
      .toEqual(expect.arrayContaining(['reconnect', 'resume', 'request resume', 'parley.v1/resume']));

    await alice.getByRole('button', { name: 'Mute' }).click();
    await alice.getByRole('button', { name: 'Unmute' }).click();
    await expect
      .poll(() => alice.evaluate(() => Object.keys(window.parley?.traces() ?? {})))
      .toEqual(expect.arrayContaining(['mute', 'unmute']));
    const unmute = await alice.evaluate(() => window.parley?.traces().unmute);
    await ops.locator(`[data-testid=debug-trace][data-trace-id="${unmute}"]`).click({ timeout: 15_000 });
    await expect
      .poll(spanNames, { timeout: 15_000, interval: 500 })
      .toEqual(expect.arrayContaining(['unmute', 'parley.v1/resumeProducer']));
  });
});

/** The trace of the remedy that consumed `consumerId`'s producer again (its remedy span says 'reconsumed'). */
async function reconsumedIn(base: string, consumerId: string): Promise<string | undefined> {
  const res = await fetch(`${base}/debug/api/traces?limit=100`, { headers: { authorization: `Bearer ${await adminToken()}` } });
  const remedies = DebugTracesResponse.parse(await res.json()).traces.filter((t) => t.name === 'remedy');
  for (const { traceId } of remedies) {
    const root = (await traceFromApi(base, traceId)).find((s) => s.name === 'remedy');
    const reconsumed = root?.attributes['parley.remedy.outcome'] === 'reconsumed';
    if (reconsumed && root?.attributes['parley.consumer'] === consumerId) return traceId;
  }
  return undefined;
}

/**
 * Hands the page a remedy as the doctor would, and returns the trace of the action it started. Read in the same
 * turn of the page's event loop: a remedy the real doctor sends a moment later (about the consumer a reconsume
 * just replaced, under load) is another trace, and `traces().remedy` would then name that one.
 */
function remedy(page: Page, data: ClientRemedy): Promise<string | undefined> {
  return page.evaluate((d) => {
    window.parley?.call?.onNotification({ notification: 'remedy', data: d });
    return window.parley?.traces().remedy;
  }, data);
}

async function receivesMedia(page: Page): Promise<void> {
  await expect
    .poll(
      async () => {
        const s = await inboundSummary(page);
        return s.videoFramesDecoded > 0 && s.audioPacketsReceived > 0;
      },
      { timeout: 20_000, interval: 200 },
    )
    .toBe(true);
}

function attributes(list: Locator, name: string): Promise<string[]> {
  return list.evaluateAll((els, n) => els.map((el) => el.getAttribute(n) ?? ''), name);
}

function countByValue(values: string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([v, n]) => `${v} ${n}`).join(', ');
}
