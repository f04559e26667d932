import fs from 'node:fs';
import puppeteer from 'puppeteer-core';
import type { Browser, Page } from 'puppeteer-core';
import { deploymentToken, devTokensServed, recordCapturedTracks } from './browser.ts';

export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/** Fake camera and microphone without a prompt, ICE on every interface, and nothing phoning home. */
const PREFS: Record<string, unknown> = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.peerconnection.ice.default_address_only': false,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'media.autoplay.default': 0,
  'app.update.enabled': false,
  'app.update.auto': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'toolkit.telemetry.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
};

export function firefoxUnavailable(): string | null {
  return fs.existsSync(FIREFOX_PATH) ? null : `${FIREFOX_PATH} is not installed (Debian package firefox-esr)`;
}

/**
 * Headless Firefox over WebDriver BiDi. `executablePath` may be a wrapper (a network namespace);
 * `debuggingPort` must then be forwarded to the host, since puppeteer connects to it from here.
 */
export function launchFirefox(options: { executablePath?: string; debuggingPort?: number } = {}): Promise<Browser> {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: options.executablePath ?? FIREFOX_PATH,
    headless: true,
    debuggingPort: options.debuggingPort,
    extraPrefsFirefox: PREFS,
    timeout: 30_000,
    protocolTimeout: 30_000,
  });
}

export async function openParleyFirefox(browser: Browser, baseUrl: string): Promise<Page> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.evaluateOnNewDocument(recordCapturedTracks);
  page.on('pageerror', (err) => console.error(`[firefox page] ${String(err)}`));
  if (!(await devTokensServed(baseUrl))) {
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      if (request.isInterceptResolutionHandled()) return;
      if (!request.url().endsWith('/api/dev/token')) return void request.continue();
      // Over WebDriver BiDi the body is fetched (postData() needs CDP).
      void request
        .fetchPostData()
        .then((posted) => deploymentToken(posted))
        .then((body) => request.respond({ status: 200, contentType: 'application/json', body: JSON.stringify(body) }))
        .catch((err: Error) => console.error(`[firefox page] token request: ${err.message}`));
    });
  }
  await page.goto(baseUrl);
  return page;
}

export async function joinFromLobbyFirefox(page: Page, room: string, name: string): Promise<void> {
  await page.locator('input[name=name]').fill(name);
  await page.locator('form button[type=submit]').click();
  await page.locator('input[name=room]').fill(room);
  await page.locator('form.join button[type=submit]').click();
  await page.waitForSelector('nav.controls button.leave');
}
