import { spawn } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { podman, repoRoot } from '../scripts/stack/podman.ts';
import { readState } from '../scripts/stack/stack.ts';
import type { StackState } from '../scripts/stack/stack.ts';
import { issueToken } from '../signaling/auth.ts';
import { recordCapturedTracks } from './browser.ts';

/**
 * `npm run stack` as a user runs it (the same command line, its own output), under a name of the test's own and
 * with ports podman picks, so it can run next to a developer's stack.
 */
export interface RunningStack {
  name: string;
  /** The address `up` printed. */
  url: string;
  state: StackState;
  /** How long `up` took, as measured here. */
  upMs: number;
  /** Runs `down` and resolves with what it printed. */
  down(): Promise<string>;
}

/** Runs a stack subcommand to its end; rejects with its output when it fails. */
export function stackCommand(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/stack.ts', ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (b: Buffer) => {
    output += b.toString();
    // Image builds can take minutes on a fresh machine: show the progress lines, not the builder's chatter.
    for (const line of b.toString().split('\n')) if (/^\[(stack|images)\]/.test(line)) console.log(line);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`stack ${args.join(' ')} failed (${code ?? signal}):\n${output.slice(-4000)}`));
    });
  });
}

/** `up` with a fresh name; `env` adds settings (e.g. MEDIA_MAX_CONSUMERS_PER_WORKER). */
export async function startStack(prefix: string, env: NodeJS.ProcessEnv = {}): Promise<RunningStack> {
  const name = `${prefix}-${process.pid}`;
  const stackEnv = { PARLEY_STACK_NAME: name, PARLEY_STACK_PORT: '0', PARLEY_STACK_PROMETHEUS_PORT: '0', ...env };
  const started = Date.now();
  // Cold: the Debian base, every image and the stack (about 10 minutes on 2 busy cores); later runs reuse images.
  const output = await stackCommand(['up'], stackEnv, 30 * 60_000);
  const upMs = Date.now() - started;
  const url = /\[stack\] open (http:\/\/\S+)/.exec(output)?.[1];
  const state = readState(name);
  if (!url || !state) throw new Error(`stack up printed no address:\n${output}`);
  return { name, url, state, upMs, down: () => stackCommand(['down'], stackEnv, 120_000) };
}

/** Everything podman still holds for a stack: containers, pods, networks, secrets. */
export async function leftovers(name: string): Promise<string[]> {
  const lines = async (args: string[]) => (await podman(args)).split('\n').filter(Boolean);
  return [
    ...(await lines(['ps', '-a', '--filter', `label=parley.stack=${name}`, '--format', 'container {{.Names}}'])),
    ...(await lines(['pod', 'ls', '--filter', `label=parley.stack=${name}`, '--format', 'pod {{.Name}}'])),
    ...(await lines(['network', 'ls', '--format', 'network {{.Name}}'])).filter((n) => n === `network ${name}`),
    ...(await lines(['secret', 'ls', '--format', 'secret {{.Name}}'])).filter((s) => s.startsWith(`secret ${name}-`)),
  ];
}

/** The container of a stack service (`media-worker-1`, `signaling-node`, ...). */
export const containerOf = (stack: RunningStack, service: string) => `${stack.name}-${service}`;

/**
 * A newcomer's browser tab on the stack's address. The stack serves no development tokens (a deployment does
 * not), so the page's token request is answered here, as a deployment's own sign-in would: a token for the name
 * the user typed, signed with the stack's secret (`npm run stack -- token` does the same). `query` is the page
 * address's own (`?ice=relay`).
 */
export async function openStackPage(browser: Browser, stack: RunningStack, query = ''): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.addInitScript(recordCapturedTracks);
  page.on('pageerror', (err) => console.error(`[page] ${err.message}`));
  await page.route('**/api/dev/token', async (route) => {
    const { name = 'Guest' } = JSON.parse(route.request().postData() ?? '{}') as { name?: string };
    const token = await issueToken(stack.state.secret, {
      identity: `${name.toLowerCase()}-${crypto.randomUUID().slice(0, 8)}`,
      name,
    });
    await route.fulfill({ json: { token } }).catch(() => undefined);
  });
  await page.goto(`${stack.url}/${query}`);
  return page;
}
