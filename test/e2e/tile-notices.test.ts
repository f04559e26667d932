import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtpPeer } from '../../bench/rtp/peer.ts';
import { Bot } from '../../bots/bot.ts';
import type { BotFaults } from '../../bots/bot.ts';
import { joinFromLobby, launchChromium, SCREENSHOTS, serveTokensFor } from '../../harness/browser.ts';
import { loadTestToken, startDistributed, token } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { tapSignaling } from '../../harness/signaling-tap.ts';
import type { Message, Tap } from '../../harness/signaling-tap.ts';
import { waitFor } from '../../harness/wait.ts';
import type { HealthCause } from '../../protocol/health.ts';
import { DebugTraceResponse } from '../../protocol/http.ts';
import { ProblemReport } from '../../protocol/problem-report.ts';
import type { ClientConsumerStats } from '../../protocol/telemetry.ts';
import { describeCause } from '../../web/src/doctor-words.ts';
import { en } from '../../web/src/i18n/en.ts';

/**
 * The viewer told why, in Chromium: the doctor's faults (bots/faults.ts and the load tester's padding-only
 * publisher on the publisher's side; the same faults injected on the web app's signaling messages on the viewer's side) must show on the tile, in the words of
 * web/src/doctor-words.ts, within 3 s, and clear once the repair worked; "Report a problem" saves a document
 * that validates against protocol/problem-report.ts and whose trace id opens in /debug.
 */
const SHOWN_WITHIN_MS = 3_000;
const LAYERS = [
  { bitsPerSecond: 150_000, fps: 30 },
  { bitsPerSecond: 500_000, fps: 30 },
  { bitsPerSecond: 1_200_000, fps: 30 },
];
let cluster: Cluster;
let browser: Browser;
let admin: string;
const bots: Bot[] = [];

beforeAll(async () => {
  [cluster, browser] = await Promise.all([startDistributed({ webRoot: true }), launchChromium()]);
  admin = await token('Operator', { admin: true });
});
afterAll(async () => {
  bots.forEach((b) => b.close());
  await browser?.close();
  await cluster?.stop();
});

const publisher = async (room: string, name: string, faults: BotFaults = {}) => {
  const bot = await Bot.join({ url: cluster.signaling[0]!, room, name, token: await token(name), faults });
  bots.push(bot);
  await bot.publish();
  return bot;
};
const viewer = async (room: string, tap?: Tap): Promise<Page> => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (err) => console.error(`[page] ${err.message}`));
  await page.addInitScript(recordNotices);
  if (tap) await tapSignaling(page, tap);
  await serveTokensFor(page, cluster.signaling[0]!);
  await page.goto(cluster.signaling[0]!);
  await joinFromLobby(page, room, 'Vee');
  await page.evaluate(() => {
    const times: Record<string, number> = {};
    (window as unknown as { verdictTimes: Record<string, number> }).verdictTimes = times;
    window.parley?.client?.on('notice', (n) => {
      if (n.cause) times[n.cause] ??= n.since;
    });
  });
  return page;
};
type Shown = { peer: string | null; text: string; at: number };
/**
 * In the page: every change of every tile's notice, with the time (a notice may show for less than a poll), in
 * `window.noticeLog`; an empty text is a notice gone.
 */
const recordNotices = () => {
  const log: Shown[] = [];
  (window as unknown as { noticeLog: Shown[] }).noticeLog = log;
  const look = () => {
    const now = new Map<string | null, string>();
    for (const el of document.querySelectorAll('[data-testid="tile-notice"]'))
      now.set(el.closest('[data-peer-id]')?.getAttribute('data-peer-id') ?? null, el.textContent ?? '');
    const peers = new Set([...now.keys(), ...log.map((l) => l.peer)]);
    for (const peer of peers) {
      const text = now.get(peer) ?? '';
      if ((log.findLast((l) => l.peer === peer)?.text ?? '') !== text) log.push({ peer, text, at: Date.now() });
    }
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, characterData: true });
};
const noticeLog = (page: Page) => page.evaluate(() => (window as unknown as { noticeLog: Shown[] }).noticeLog);
const current = async (page: Page, bot: Bot) => (await noticeLog(page)).findLast((l) => l.peer === bot.peerId)?.text ?? '';
/** Waits for `bot`'s tile to say `cause` (in its words) after `onset`; returns every text it showed since. */
const shows = async (page: Page, bot: { peerId: string }, cause: HealthCause, name: string, onset: number) => {
  const words = describeCause(cause, name);
  const shown = await waitFor(`the tile to say “${words}”`, async () =>
    (await noticeLog(page)).find((l) => l.peer === bot.peerId && l.at >= onset && l.text.startsWith(words)),
  );
  const ms = shown.at - onset;
  const verdict = await page.evaluate(
    (c) => (window as unknown as { verdictTimes?: Record<string, number> }).verdictTimes?.[c],
    cause,
  );
  console.log(
    `${cause}: the tile said “${words}” after ${ms} ms (the doctor's verdict dated ${verdict ? verdict - onset : '?'} ms)`,
  );
  expect(ms).toBeLessThan(SHOWN_WITHIN_MS);
  return {
    since: shown.at,
    texts: async () => (await noticeLog(page)).filter((l) => l.peer === bot.peerId && l.at >= onset).map((l) => l.text),
  };
};
/** When a consume of `producerId` was answered (the consumer's creation, give or take a hop), else 0. */
const consumeOf = (message: Message, producerId: string) =>
  message.ok && message.data?.producerId === producerId && typeof message.data.id === 'string' ? Date.now() : 0;
const clears = (page: Page, bot: Bot, what: string) =>
  waitFor(`the tile’s notice to clear (${what})`, async () => (await current(page, bot)) === '', 15_000);

describe('the viewer told why, in Chromium', () => {
  it('shows a publisher’s faults on the tile, clears them after the repair, and exports a report /debug opens', async () => {
    const room = 'notices';
    const ada = await publisher(room, 'Ada');
    const page = await viewer(room);
    await page.locator(`[data-peer-id="${ada.peerId}"] video`).waitFor();
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await current(page, ada)).toBe('');

    let onset = Date.now();
    await ada.setPaused('camera', true);
    await shows(page, ada, 'producer-paused', 'Ada', onset);
    await page.screenshot({ path: `${SCREENSHOTS}/tile-notice-producer-paused.png` });
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Report a problem' }).click(),
    ]);
    const reportFile = (await download.path())!;
    const report = ProblemReport.parse(JSON.parse(fs.readFileSync(reportFile, 'utf8')));
    expect(report.notices.map((n) => n.cause)).toContain('producer-paused');
    expect(report.consumers.length).toBeGreaterThan(0);
    expect(report.producers.map((p) => p.source).sort()).toEqual(['camera', 'microphone']);
    const traceId = report.traceId!;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const trace = await waitFor('the report’s trace in /debug', async () => {
      const res = await fetch(`${cluster.signaling[0]}/debug/api/traces/${traceId}`, {
        headers: { authorization: `Bearer ${admin}` },
      });
      const body = DebugTraceResponse.parse(await res.json());
      return body.spans.some((s) => s.service === 'parley-web') && body.spans.some((s) => s.service === 'parley-media-worker')
        ? body
        : undefined;
    });
    console.log(
      `report trace ${traceId}: ${trace.spans.length} spans (${[...new Set(trace.spans.map((s) => s.service))].join(', ')})`,
    );
    // The operator opens the file in /debug: its trace opens, its notices are listed.
    const ops = await (await browser.newContext()).newPage();
    await ops.addInitScript((t) => sessionStorage.setItem('parley.adminToken', t), admin);
    await ops.goto(`${cluster.signaling[0]}/debug`);
    await ops.getByTestId('debug-report').locator('input[type=file]').setInputFiles(reportFile);
    await waitFor('the report’s trace to open in /debug', async () =>
      (await ops
        .getByTestId('trace-timeline')
        .getAttribute('data-trace-id')
        .catch(() => null)) === traceId
        ? true
        : undefined,
    );
    expect(await ops.getByTestId('debug-report').getByRole('button', { name: 'producer-paused' }).count()).toBe(1);
    await ops.screenshot({ path: `${SCREENSHOTS}/debug-problem-report.png` });
    await ops.close();
    await ada.setPaused('camera', false);
    await clears(page, ada, 'unmuted');

    onset = Date.now();
    ada.stopSource('camera');
    const stalled = await shows(page, ada, 'encoder-stalled', 'Ada', onset);
    await page.screenshot({ path: `${SCREENSHOTS}/tile-notice-encoder-stalled.png` });
    await clears(page, ada, 'the camera captured again');
    expect((await stalled.texts()).some((t) => t.includes(en['repair.reacquire-track']))).toBe(true);
    await page.close();
  });

  it('names a publisher that cannot be asked for key frames to a late viewer', async () => {
    const room = 'notices-key-frame';
    const dex = await publisher(room, 'Dex', { deafToKeyFrameRequests: true });
    await new Promise((r) => setTimeout(r, 2_000));
    const camera = dex.producerId('camera')!;
    let consumedAt = 0;
    const page = await viewer(room, {
      toPage: (message) => {
        consumedAt ||= consumeOf(message, camera);
        return message;
      },
    });
    const shown = await shows(
      page,
      dex,
      'no-key-frame',
      'Dex',
      await waitFor('the camera consumed', () => consumedAt || undefined),
    );
    await waitFor('the repair to show', async () =>
      (await shown.texts()).some((t) => t.includes(en['repair.request-key-frame'])),
    );
    await page.close();
  });

  it('names layer-unavailable to a late viewer of a publisher whose layers send padding only', async () => {
    const room = 'notices-layers';
    // The load tester's plain RTP publisher (as in doctor.test.ts): three VP8 layers, then padding only on each,
    // so mediasoup has no active layer to forward. Its VP8 is filler: the viewer must never be sent any of it.
    const lou = await RtpPeer.join(cluster.signaling[0]!, room, await loadTestToken('Lou'));
    const clock = setInterval(() => lou.tick(performance.now()), 5);
    try {
      const camera = await lou.publish({ kind: 'video', layers: LAYERS });
      await new Promise((r) => setTimeout(r, 1_000));
      lou.paddingOnly(camera, true);
      await new Promise((r) => setTimeout(r, 2_500)); // mediasoup's 1.5 s inactivity check has run
      let consumedAt = 0;
      const page = await viewer(room, {
        toPage: (message) => {
          consumedAt ||= consumeOf(message, camera);
          return message;
        },
      });
      const onset = await waitFor('the camera consumed', () => consumedAt || undefined);
      const shown = await shows(page, lou, 'layer-unavailable', 'Lou', onset);
      await waitFor('the repair to show', async () =>
        (await shown.texts()).some((t) => t.includes(en['repair.set-preferred-layers'])),
      );
      await page.close();
    } finally {
      clearInterval(clock);
      lou.close();
    }
  });

  it('shows the viewer’s own faults (injected on its signaling) and clears each after its repair', async () => {
    const room = 'notices-viewer';
    const bea = await publisher(room, 'Bea');
    const camera = bea.producerId('camera')!;
    const fault = { neverResume: true, frozen: undefined as string | undefined, frozenAt: 0 };
    const consumers: { id: string; at: number }[] = [];
    const frames = new Map<string, number>();
    const page = await viewer(room, {
      toServer: (message, reply) => {
        if (message.method === 'resumeConsumer' && fault.neverResume) {
          reply({});
          return null;
        }
        if (message.method === 'reportConsumerStats' && fault.frozen) {
          const stats = message.data!.consumers as ClientConsumerStats[];
          const frozen = stats.map((s) => {
            if (s.consumerId !== fault.frozen) return s;
            // The fault's onset: the first report of a hung decoder (as bots/faults.ts dates it).
            fault.frozenAt ||= Date.now();
            if (!frames.has(s.consumerId)) frames.set(s.consumerId, s.framesDecoded ?? 0);
            return { ...s, framesDecoded: frames.get(s.consumerId) };
          });
          return { ...message, data: { consumers: frozen } };
        }
        return message;
      },
      toPage: (message) => {
        const at = consumeOf(message, camera);
        if (at) consumers.push({ id: message.data!.id as string, at });
        return message;
      },
    });
    const first = await waitFor('the camera consumer', () => consumers[0]);
    const resumed = await shows(page, bea, 'consumer-never-resumed', 'Bea', first.at);
    await clears(page, bea, 'resumed by the doctor');
    expect((await resumed.texts()).some((t) => t.includes(en['repair.resume-consumer']))).toBe(true);
    fault.neverResume = false;

    fault.frozen = first.id;
    const stall = await shows(
      page,
      bea,
      'decoder-stall',
      'Bea',
      await waitFor('a frozen report', () => fault.frozenAt || undefined),
    );
    await clears(page, bea, 'consumed again');
    expect((await stall.texts()).some((t) => t.includes(en['repair.reconsume']))).toBe(true);
    expect(consumers.length).toBe(2);
    await page.close();
  });
});
