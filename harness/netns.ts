import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startProcess } from './processes.ts';
import type { Running } from './processes.ts';

/**
 * Several "hosts" on one machine: a network namespace each, joined by veth pairs to a bridge in a switch
 * namespace of their own. Everything lives in namespaces this helper creates and destroys; the machine's own
 * network is untouched and no traffic leaves.
 */
export class TestNetwork {
  private hosts = new Map<string, { ns: string; ip: string; hostEnd: string; switchEnd: string }>();
  private processes: Running[] = [];
  private scripts?: string;

  private constructor(private prefix: string) {}

  /** Null, with the reason, where namespaces cannot be created (not root, no iproute2). */
  static create(): { network: TestNetwork } | { skip: string } {
    const network = new TestNetwork(`pt${process.pid % 100000}`);
    try {
      network.ip('netns', 'add', network.switchNs);
    } catch (err) {
      return { skip: `network namespaces unavailable: ${(err as Error).message.split('\n')[0]}` };
    }
    network.ip('-n', network.switchNs, 'link', 'add', 'br0', 'type', 'bridge');
    network.ip('-n', network.switchNs, 'link', 'set', 'br0', 'up');
    return { network };
  }

  private get switchNs(): string {
    return `${this.prefix}-sw`;
  }

  addHost(name: string, ip: string): void {
    const ns = `${this.prefix}-${name}`;
    const index = this.hosts.size;
    const [hostEnd, switchEnd] = [`${this.prefix}h${index}`, `${this.prefix}s${index}`];
    this.ip('netns', 'add', ns);
    this.ip('link', 'add', hostEnd, 'netns', ns, 'type', 'veth', 'peer', 'name', switchEnd, 'netns', this.switchNs);
    this.ip('-n', this.switchNs, 'link', 'set', switchEnd, 'master', 'br0', 'up');
    this.ip('-n', ns, 'addr', 'add', `${ip}/24`, 'dev', hostEnd);
    this.ip('-n', ns, 'link', 'set', hostEnd, 'up');
    this.ip('-n', ns, 'link', 'set', 'lo', 'up');
    this.hosts.set(name, { ns, ip, hostEnd, switchEnd });
  }

  address(name: string): string {
    return this.host(name).ip;
  }

  /** Starts a command inside a host; resolves once its output matches `ready`. */
  async start(name: string, command: string, args: string[], options: Parameters<typeof startProcess>[2]): Promise<Running> {
    const running = await startProcess('ip', ['netns', 'exec', this.host(name).ns, command, ...args], options);
    this.processes.push(running);
    return running;
  }

  /** argv that runs `command args` inside a host (for helpers that start processes themselves). */
  wrap(name: string, command: string, args: string[]): [string, string[]] {
    return ['ip', ['netns', 'exec', this.host(name).ns, command, ...args]];
  }

  /** An executable script running `executable` inside a host, for launchers that take a path (browsers). */
  wrapperScript(name: string, executable: string): string {
    this.scripts ??= fs.mkdtempSync(path.join(os.tmpdir(), 'parley-netns-'));
    const file = path.join(this.scripts, `${name}-${path.basename(executable)}`);
    fs.writeFileSync(file, `#!/bin/sh\nexec ip netns exec ${this.host(name).ns} ${executable} "$@"\n`, { mode: 0o755 });
    return file;
  }

  /**
   * Moves a host to another address as a network switch does: the old address goes (and with it every socket's
   * path: nothing answers it any more), then the new one comes, on the same link.
   */
  readdress(name: string, ip: string): void {
    const host = this.host(name);
    this.ip('-n', host.ns, 'addr', 'flush', 'dev', host.hostEnd);
    this.ip('-n', host.ns, 'addr', 'add', `${ip}/24`, 'dev', host.hostEnd);
    host.ip = ip;
  }

  /** Runs a command inside a host to completion and returns its output. */
  run(name: string, command: string, args: string[], env?: NodeJS.ProcessEnv): string {
    return execFileSync('ip', ['netns', 'exec', this.host(name).ns, command, ...args], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });
  }

  /** Pulls a host's cable: its link on the switch goes down. */
  unplug(name: string): void {
    this.ip('-n', this.switchNs, 'link', 'set', this.host(name).switchEnd, 'down');
  }

  async destroy(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
    for (const { ns } of this.hosts.values()) this.tryIp('netns', 'del', ns);
    this.tryIp('netns', 'del', this.switchNs);
    if (this.scripts) fs.rmSync(this.scripts, { recursive: true, force: true });
  }

  private host(name: string) {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`no host ${name}`);
    return host;
  }

  private ip(...args: string[]): void {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  }

  private tryIp(...args: string[]): void {
    try {
      this.ip(...args);
    } catch {
      // Already gone.
    }
  }
}
