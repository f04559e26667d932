import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The project's own containers.conf (runc, rlimits the kernel here accepts), for every podman call: run, build,
 * kube play. The machine's own containers configuration is left alone.
 */
export const containersConf = path.join(repoRoot, 'infra/podman/containers.conf');
export const podmanEnv = (): NodeJS.ProcessEnv => ({ ...process.env, CONTAINERS_CONF: containersConf });

export class PodmanError extends Error {
  constructor(
    readonly args: string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`podman ${args.slice(0, 3).join(' ')}… failed (${code}): ${stderr.trim().split('\n').slice(-5).join('\n')}`);
  }
}

export interface PodmanOptions {
  /** Stream the command's output to ours (image builds), prefixed. */
  echo?: string;
  /** Lower the priority of the command (image builds on a shared machine). */
  nice?: boolean;
  /** Resolve with stdout and stderr together (`podman logs`: a container's stderr arrives on ours). */
  combined?: boolean;
}

/** Runs podman and resolves with its stdout; rejects with its stderr. */
export function podman(args: string[], options: PodmanOptions = {}): Promise<string> {
  const [command, argv] = options.nice ? ['nice', ['-n', '10', 'podman', ...args]] : ['podman', args];
  const child = spawn(command, argv, { env: podmanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let partial = '';
  const echo = (chunk: string) => {
    if (options.echo === undefined) return;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) console.log(`${options.echo}${line}`);
  };
  child.stdout.on('data', (b: Buffer) => {
    stdout += b.toString();
    echo(b.toString());
  });
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
    if (options.combined) stdout += b.toString();
    echo(b.toString());
  });
  return new Promise((resolve, reject) => {
    child.once('error', (err) =>
      reject(new PodmanError(args, null, `${err.message} (is podman installed? run scripts/setup.sh)`)),
    );
    child.once('close', (code) => {
      if (partial) echo('\n');
      if (code === 0) resolve(stdout);
      else reject(new PodmanError(args, code, stderr || stdout));
    });
  });
}

/** True when `podman <kind> exists <name>` says so (image, container, network, pod, secret). */
export async function exists(kind: 'image' | 'container' | 'network' | 'pod' | 'secret', name: string): Promise<boolean> {
  if (kind === 'secret') return (await podman(['secret', 'ls', '--format', '{{.Name}}'])).split('\n').includes(name);
  return podman([kind, 'exists', name]).then(
    () => true,
    () => false,
  );
}
