import { execFileSync } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundSummary, joinFromLobby, launchChromium, openParley } from '../../harness/browser.ts';
import { startEmbedded } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';

/**
 * The seed's "no recovery after an error": the mediasoup worker under a call is killed. The server replaces
 * it and tells both browsers to rebuild their media (mediaReset); they do so without rejoining, and see
 * each other again within 5 s.
 */
describe('browsers recover when the mediasoup worker dies', () => {
  let cluster: Cluster;
  let browser: Browser;

  beforeAll(async () => {
    [cluster, browser] = await Promise.all([startEmbedded(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  const consumerIds = (page: Page) => page.evaluate(() => window.parley?.call?.consumers().map((c) => c.id) ?? []);
  const decodesWith = async (page: Page, notIds: string[], timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ids = await consumerIds(page);
      const fresh = ids.length > 0 && ids.every((id) => !notIds.includes(id));
      if (fresh && (await inboundSummary(page)).videoFramesDecoded > 0) return;
      if (Date.now() > deadline) throw new Error(`no fresh remote video: consumers ${JSON.stringify(ids)}`);
      await page.waitForTimeout(100);
    }
  };

  it('rebuilds transports and media in both pages after the worker is killed', async () => {
    const base = cluster.signaling[0]!;
    const alice = await openParley(browser, base);
    const bob = await openParley(browser, base);
    await joinFromLobby(alice, 'recovery', 'Alice');
    await joinFromLobby(bob, 'recovery', 'Bob');
    await Promise.all([decodesWith(alice, [], 20_000), decodesWith(bob, [], 20_000)]);
    const before = [await consumerIds(alice), await consumerIds(bob)] as const;

    const workers = execFileSync('pgrep', ['-P', String(cluster.processes[0]!.child.pid), '-f', 'mediasoup-worker'], {
      encoding: 'utf8',
    })
      .trim()
      .split('\n');
    const killedAt = Date.now();
    for (const pid of workers) process.kill(Number(pid), 'SIGKILL');
    await Promise.all([decodesWith(alice, before[0], 5000), decodesWith(bob, before[1], 5000)]);
    const recoveredMs = Date.now() - killedAt;
    console.log(`browsers decoding again ${recoveredMs} ms after the mediasoup worker was killed`);
    expect(recoveredMs).toBeLessThan(5000);
    expect(await alice.getByTestId('remote-tile').count()).toBe(1);
  });
});
