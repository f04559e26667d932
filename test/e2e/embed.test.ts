import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundSummary, launchChromium, openParley, SCREENSHOTS, waitForRoom } from '../../harness/browser.ts';
import { startEmbedded, token } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { repoRoot } from '../../harness/processes.ts';
import { serveDirectory } from '../../harness/static-server.ts';
import { waitFor } from '../../harness/wait.ts';

/**
 * An integrator's page (examples/embed: the client SDK and nothing else) on its own origin, and the shipped
 * UI, each given only a room-scoped token: both land in the room and see each other.
 */
describe('embedding: the SDK alone, and the shipped UI, with room-scoped tokens', () => {
  let cluster: Cluster;
  let browser: Browser;
  let site: Awaited<ReturnType<typeof serveDirectory>>;
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-embed-'));

  beforeAll(async () => {
    await build({
      root: path.join(repoRoot, 'examples/embed'),
      base: './',
      logLevel: 'error',
      build: { outDir, emptyOutDir: true, target: 'es2022' },
    });
    [cluster, browser, site] = await Promise.all([startEmbedded(), launchChromium(), serveDirectory(outDir)]);
  });
  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await cluster?.stop();
    fs.rmSync(outDir, { recursive: true, force: true });
  });

  it('the example page joins with the SDK, the shipped UI goes straight to the room, and neither keeps the token in the address bar', async () => {
    const room = `embed-${Date.now()}`;
    const server = cluster.signaling[0]!;
    const eveToken = await token('Eve', { room });
    const embedded = await (await browser.newContext()).newPage();
    embedded.on('pageerror', (err) => console.error(`[embed page] ${err.message}`));
    await embedded.goto(`${site.url}/index.html#server=${encodeURIComponent(server)}&token=${eveToken}`);
    await embedded.getByText(`In ${room}`).waitFor();

    const shipped = await openParley(browser, `${server}/#token=${await token('Finn', { room })}`);
    await waitForRoom(shipped);
    expect(await shipped.getByLabel('Your name').count()).toBe(0);
    expect(await shipped.getByRole('heading', { name: room }).count()).toBe(1);

    await waitFor('the example page to show Finn’s video', () => videoWidth(embedded, 'Finn'), 15_000);
    await waitFor(
      'the shipped UI to decode Eve’s video',
      async () => (await inboundSummary(shipped)).videoFramesDecoded > 0,
      15_000,
    );
    await shipped.getByTestId('remote-tile').getByText('Eve', { exact: true }).waitFor();
    await embedded.screenshot({ path: path.join(SCREENSHOTS, 'embed-example.png') });

    for (const page of [embedded, shipped]) expect(page.url()).not.toContain('token');
    // A reload keeps the tab's identity (kept for this tab), still without the token in the address.
    await shipped.reload();
    await waitForRoom(shipped);
    expect(shipped.url()).not.toContain('token');
  });
});

/** The width of the video of `name`'s figure on the example page: non-zero once a frame was decoded. */
function videoWidth(page: Page, name: string): Promise<number> {
  return page.evaluate((n) => document.querySelector<HTMLVideoElement>(`figure[data-peer="${n}"] video`)?.videoWidth ?? 0, name);
}
