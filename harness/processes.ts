import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface Running {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts a command and resolves once a line of its output matches `ready`; fails with its output otherwise. */
export function startProcess(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; ready: RegExp; timeoutMs?: number; name: string },
): Promise<Running> {
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const running: Running = {
    child,
    output: () => output,
    stop: () => stopChild(child),
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void running.stop();
      reject(new Error(`${options.name} not ready after ${options.timeoutMs ?? 30_000} ms:\n${output}`));
    }, options.timeoutMs ?? 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (options.ready.test(output)) {
        clearTimeout(timer);
        resolve(running);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited with ${code}:\n${output}`));
    });
  });
}

/**
 * The port a server says it bound (`pattern`'s first group) in its output. Servers are started on port 0 and
 * report: picking a free port first and handing it over races with every other process on the machine.
 */
export function boundPort(running: Running, pattern: RegExp): number {
  const port = Number(pattern.exec(running.output())?.[1]);
  if (!port) throw new Error(`no port in the output (${pattern}):\n${running.output()}`);
  return port;
}

/** Runs one of the project's TypeScript entry points with tsx. */
export function startTs(entry: string, options: Parameters<typeof startProcess>[2], args: string[] = []): Promise<Running> {
  // PARLEY_CPU_PROFILE_DIR: every process started here writes a V8 CPU profile there when it exits (benchmarks).
  const dir = process.env.PARLEY_CPU_PROFILE_DIR;
  const profile = dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
  return startProcess(process.execPath, [...profile, '--import', 'tsx', path.join(repoRoot, entry), ...args], options);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * A process's output as an operator reads it: each structured log line (tracing/log.ts) as `[service] message`
 * (the service without its `parley-` prefix), any other line as it is.
 */
export function readableLines(output: string): string[] {
  return output
    .trim()
    .split('\n')
    .map((line) => {
      try {
        const { service, message } = JSON.parse(line) as { service?: string; message?: string };
        return service && message ? `[${service.replace(/^parley-/, '')}] ${message}` : line;
      } catch {
        return line;
      }
    });
}
