import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { token } from './cluster.ts';
import { repoRoot } from './processes.ts';

/** Where end-to-end tests save screenshots (a CI artifact; git ignores test-results/). */
export const SCREENSHOTS = path.join(repoRoot, 'test-results', 'screenshots');
fs.mkdirSync(SCREENSHOTS, { recursive: true });

export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  // Without it Chromium gathers no ICE candidates on loopback.
  '--allow-loopback-in-peer-connection',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_FLAGS,
  });
}

/** Records every track the page captures, so a test can check they all end when the user leaves. */
export const recordCapturedTracks = () => {
  const captured: MediaStreamTrack[] = [];
  (window as unknown as { capturedTracks: MediaStreamTrack[] }).capturedTracks = captured;
  const devices = navigator.mediaDevices;
  if (!devices) return;
  for (const method of ['getUserMedia', 'getDisplayMedia'] as const) {
    const original = devices[method]?.bind(devices);
    if (!original) continue;
    devices[method] = async (constraints?: MediaStreamConstraints) => {
      const stream = await original(constraints);
      captured.push(...stream.getTracks());
      return stream;
    };
  }
};

export async function openParley(
  browser: Browser,
  baseUrl: string,
  options: { userAgent?: string; viewport?: { width: number; height: number }; init?: () => void } = {},
): Promise<Page> {
  const { init, ...contextOptions } = options;
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.addInitScript(recordCapturedTracks);
  // A test's change to the page's world before the app runs (e.g. events it must not hear).
  if (init) await page.addInitScript(init);
  page.on('pageerror', (err) => console.error(`[page] ${err.message}`));
  keepConsole(page);
  await serveTokensFor(page, baseUrl);
  await page.goto(baseUrl);
  return page;
}

/** The page's latest warnings and errors, for a failure's message (a page's console is otherwise lost). */
const consoles = new WeakMap<Page, string[]>();
function keepConsole(page: Page): void {
  const lines: string[] = [];
  consoles.set(page, lines);
  page.on('console', (msg) => {
    if (msg.type() !== 'warning' && msg.type() !== 'error') return;
    lines.push(`${new Date().toISOString().slice(11, 23)} ${msg.type()}: ${msg.text().slice(0, 300)}`);
    if (lines.length > 30) lines.shift();
  });
}

/** Waits until the page is in a room; if it is not, the error says what the page shows and logged instead. */
export async function waitForRoom(page: Page, leave = 'Leave'): Promise<void> {
  const started = Date.now();
  try {
    await page.getByRole('button', { name: leave }).waitFor();
  } catch (err) {
    const quick = { timeout: 200 };
    const shown = await page
      .getByTestId('error')
      .textContent(quick)
      .catch(() => 'no error shown');
    const state = await page
      .getByTestId('connection')
      .first()
      .getAttribute('data-state', quick)
      .catch(() => 'no badge');
    const busy = await page
      .locator('[aria-busy=true]')
      .count()
      .catch(() => 0);
    const logged = consoles.get(page)?.join('\n  ') || 'nothing';
    throw new Error(
      `${(err as Error).message}\nnot in the room after ${Date.now() - started} ms: error line "${shown}", connection ${state}, ` +
        `${busy ? 'still joining' : 'not joining'}; the page's warnings and errors:\n  ${logged}`,
    );
  }
}

/** Against a deployment (no dev tokens), the page's token requests are answered as the deployment's token service would. */
export async function serveTokensFor(page: Page, baseUrl: string): Promise<void> {
  if (await devTokensServed(baseUrl)) return;
  await page.route('**/api/dev/token', async (route) => {
    route.fulfill({ json: await deploymentToken(route.request().postData()) }).catch(() => undefined);
  });
}

/**
 * Dev tokens exist in the embedded default only. Against a deployment the harness plays the deployment's own
 * token service: it answers the page's token request with a token signed by the test secret.
 */
export async function devTokensServed(baseUrl: string): Promise<boolean> {
  const res = await fetch(new URL('/api/dev/token', baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  }).catch(() => undefined);
  // 400: the endpoint exists and refused the empty request; 404: no dev tokens. No answer: the server is only
  // reachable from the browser's network namespace, which runs a deployment.
  return res?.status === 400;
}

export async function deploymentToken(body: string | null | undefined): Promise<{ token: string }> {
  const { name } = JSON.parse(body ?? '{}') as { name?: string };
  return { token: await token(name ?? 'Guest') };
}

/** The name step, then the lobby (its WebSocket is open once the room field shows). */
export async function enterLobby(page: Page, name: string): Promise<void> {
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Room', { exact: true }).waitFor();
}

export async function joinFromLobby(page: Page, room: string, name: string): Promise<void> {
  await enterLobby(page, name);
  await page.getByLabel('Room', { exact: true }).fill(room);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await waitForRoom(page);
}

export interface InboundSummary {
  videoFramesDecoded: number;
  audioPacketsReceived: number;
  firstFrameMs?: number;
}

export function inboundSummary(page: Page): Promise<InboundSummary> {
  return page.evaluate(async () => {
    const call = window.parley?.call;
    const rows = (await call?.inboundStats()) ?? [];
    const sum = (kind: string, key: 'framesDecoded' | 'packetsReceived') =>
      rows.filter((r) => r.kind === kind).reduce((n, r) => n + (r[key] ?? 0), 0);
    return {
      videoFramesDecoded: sum('video', 'framesDecoded'),
      audioPacketsReceived: sum('audio', 'packetsReceived'),
      firstFrameMs: call?.firstFrameMs,
    };
  });
}

/** Each captured track as `kind label: readyState`, so a failure names the track left live. */
export function capturedTrackStates(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    (window as unknown as { capturedTracks: MediaStreamTrack[] }).capturedTracks.map(
      (t) => `${t.kind} ${t.label}: ${t.readyState}`,
    ),
  );
}

export const stillLive = (states: string[]) => states.filter((s) => !s.endsWith(': ended'));

/** Both ends of the transport's selected candidate pair, as getStats reports them. */
export function selectedPair(page: Page, direction: 'send' | 'recv') {
  return page.evaluate(async (direction) => {
    const report = await window.parley?.call?.transportStats(direction);
    if (!report) return undefined;
    const rows = [...report.values()] as Record<string, unknown>[];
    const pairId = rows.find((r) => r.type === 'transport')?.selectedCandidatePairId;
    const pair = rows.find((r) => r.id === pairId);
    const end = (id: unknown) => {
      const c = rows.find((r) => r.id === id);
      return { candidateType: c?.candidateType, address: c?.address, relayProtocol: c?.relayProtocol };
    };
    return pair && { local: end(pair.localCandidateId), remote: end(pair.remoteCandidateId) };
  }, direction);
}
