import type { NetworkWatch } from './host.ts';

/** The Network Information API, where the browser has it (Chromium); TypeScript's DOM types lack it. */
interface NetworkInformation {
  /** `wifi`, `cellular`, … (Android, ChromeOS; absent on desktop). */
  type?: string;
  effectiveType?: string;
  addEventListener(type: 'change', listener: () => void): void;
  removeEventListener(type: 'change', listener: () => void): void;
}

/**
 * The browser's network events: `online`, and `navigator.connection`'s `change` where there is one. Chromium
 * on Linux fires `online` whenever the device was without an address for a moment: the old address removed
 * before the new one came, a link down and up. A new address added while the old one still works fires
 * nothing, and Firefox on Linux fired nothing in either case (docs/reliability.md): there the client's check
 * when ICE fails covers it. `change` also fires for every new estimate of bandwidth and round trip (and a
 * burst of them around `online`): only a change of connection type or effective type counts.
 */
export function browserNetworkWatch(): NetworkWatch {
  return {
    watch(changed) {
      const online = () => changed('online');
      const connection = (navigator as Navigator & { connection?: NetworkInformation }).connection;
      const kind = () => `${connection?.type ?? 'unknown'}/${connection?.effectiveType ?? 'unknown'}`;
      let last = kind();
      const change = () => {
        const now = kind();
        if (now !== last) changed(`connection ${last} → ${now}`);
        last = now;
      };
      addEventListener('online', online);
      connection?.addEventListener('change', change);
      return () => {
        removeEventListener('online', online);
        connection?.removeEventListener('change', change);
      };
    },
  };
}

/**
 * One reaction per burst: a network switch fires several events within milliseconds (offline, online, a few
 * connection changes). The first acts at once; events during the next `quietMs` act once more after it, so the
 * last state of the network is the one acted on.
 */
export class Throttle {
  private timer?: ReturnType<typeof setTimeout>;
  private pending?: string;

  constructor(
    private act: (what: string) => void,
    private quietMs: number,
  ) {}

  push(what: string): void {
    if (this.timer) {
      this.pending = what;
      return;
    }
    this.act(what);
    this.timer = setTimeout(() => this.flush(), this.quietMs);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = this.pending = undefined;
  }

  private flush(): void {
    this.timer = undefined;
    const what = this.pending;
    this.pending = undefined;
    if (what !== undefined) this.push(what);
  }
}
