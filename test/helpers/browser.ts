import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';

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
const recordCapturedTracks = () => {
  const captured: MediaStreamTrack[] = [];
  (window as unknown as { capturedTracks: MediaStreamTrack[] }).capturedTracks = captured;
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await original(constraints);
    captured.push(...stream.getTracks());
    return stream;
  };
};

export async function openParley(browser: Browser, baseUrl: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.addInitScript(recordCapturedTracks);
  page.on('pageerror', (err) => console.error(`[page] ${err.message}`));
  await page.goto(baseUrl);
  return page;
}

export async function joinFromLobby(page: Page, room: string, name: string): Promise<void> {
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('Room').fill(room);
  await page.getByRole('button', { name: 'Join' }).click();
  await page.getByRole('button', { name: 'Leave' }).waitFor();
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

export function capturedTrackStates(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    (window as unknown as { capturedTracks: MediaStreamTrack[] }).capturedTracks.map((t) => t.readyState),
  );
}
