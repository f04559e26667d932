import path from 'node:path';
import type { Browser as ChromiumBrowser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import type { Browser as FirefoxBrowser, Page as FirefoxPage } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_FLAGS, joinFromLobby, openParley, SCREENSHOTS } from '../../harness/browser.ts';
import type { Cluster } from '../../harness/cluster.ts';
import {
  firefoxUnavailable,
  FIREFOX_PATH,
  joinFromLobbyFirefox,
  launchFirefox,
  openParleyFirefox,
} from '../../harness/firefox.ts';
import { expectMediaFlowing } from '../../harness/media-checks.ts';
import type { PageRun } from '../../harness/media-checks.ts';
import { startClusterIn } from '../../harness/firefox-netns-cluster.ts';
import { browserNetnsUnavailable, createBrowserNetns } from '../../harness/firefox-netns.ts';
import type { BrowserNetns } from '../../harness/firefox-netns.ts';
import { freePort } from '../../harness/ports.ts';

/*
 * Firefox will not pair its host candidates with a loopback server candidate, so this runs the whole
 * deployment and both browsers inside a private network namespace (see helpers/firefox-netns.ts).
 */
const unavailable = firefoxUnavailable() ?? browserNetnsUnavailable();
if (unavailable) console.warn(`[e2e] skipping the Firefox tests: ${unavailable}`);

describe.skipIf(unavailable !== null)('Chromium and Firefox in one room', () => {
  let ns: BrowserNetns;
  let cluster: Cluster;
  let chromiumBrowser: ChromiumBrowser;
  let firefox: FirefoxBrowser;
  let ada: FirefoxPage;
  let bob: Page;

  beforeAll(async () => {
    ns = await createBrowserNetns();
    const port = await freePort();
    await ns.forward(port);
    [cluster, chromiumBrowser, firefox] = await Promise.all([
      startClusterIn(ns),
      chromium.launch({
        executablePath: ns.wrapperScript(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'),
        headless: true,
        args: CHROMIUM_FLAGS,
      }),
      launchFirefox({ executablePath: ns.wrapperScript(FIREFOX_PATH), debuggingPort: port }),
    ]);
  });
  afterAll(async () => {
    await firefox?.close().catch(() => undefined);
    await chromiumBrowser?.close();
    await cluster?.stop();
    await ns?.stop();
  });

  it('three participants, two engines: each sees and hears the other two', async () => {
    const base = cluster.signaling[0]!;
    const room = `mixed-${Date.now()}`;
    ada = await openParleyFirefox(firefox, base);
    bob = await openParley(chromiumBrowser, base);
    const cy = await openParley(chromiumBrowser, base);
    await joinFromLobbyFirefox(ada, room, 'Ada');
    await joinFromLobby(bob, room, 'Bob');
    await joinFromLobby(cy, room, 'Cy');

    await Promise.all([
      expectMediaFlowing(runIn(ada), 2, 'Firefox (Ada)'),
      expectMediaFlowing(runIn(bob), 2, 'Chromium (Bob)'),
      expectMediaFlowing(runIn(cy), 2, 'Chromium (Cy)'),
    ]);
    expect(await ada.$$eval('[data-testid=remote-tile]', (tiles) => tiles.length)).toBe(2);
    await ada.screenshot({ path: path.join(SCREENSHOTS, 'room-firefox.png') });
  });

  it('mute in Firefox: Chromium sees the indicator; unmute clears it', async () => {
    const adaId = await ada.$eval('[data-testid=self-tile]', (el) => el.getAttribute('data-peer-id') ?? '');
    const adaAtBob = bob.locator(`[data-testid=remote-tile][data-peer-id="${adaId}"] [data-testid=muted-indicator]`);
    const clickMic = (label: string) =>
      ada.evaluate(
        (text) =>
          [...document.querySelectorAll<HTMLButtonElement>('nav.controls button')]
            .find((b) => b.textContent?.trim() === text)
            ?.click(),
        label,
      );
    await clickMic('Mute');
    await adaAtBob.waitFor();
    await clickMic('Unmute');
    await adaAtBob.waitFor({ state: 'detached' });
  });
});

function runIn(page: Page | FirefoxPage): PageRun {
  return (fn) => (page as Page).evaluate(fn);
}
