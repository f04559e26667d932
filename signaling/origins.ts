import type { MiddlewareHandler } from 'hono';
import type { HttpError } from '../protocol/http.ts';

/**
 * Which Host and Origin headers browser-facing endpoints accept, against DNS rebinding (a foreign name that
 * resolves to us: its Host is that name) and against other sites' pages opening our WebSocket (their Origin).
 *
 * Host: loopback names, IP literals (a rebinding page can only send its own name, never an address) and the
 * hosts of `allowedOrigins`. Origin: none (not a browser), the same host as Host (the page we served), the
 * configured origins, or with none configured any loopback origin (local development).
 */
export class OriginPolicy {
  private hosts: Set<string>;

  constructor(private allowed: string[] | '*') {
    this.hosts = new Set(allowed === '*' ? [] : allowed.map((o) => new URL(o).host.toLowerCase()));
  }

  /** Why the request is refused, or undefined when it may go on. */
  refusal(host: string | undefined, origin: string | undefined): string | undefined {
    if (this.allowed === '*') return undefined;
    if (!host || !this.hostAllowed(host)) return `host ${JSON.stringify(host ?? '')} is not served here (ALLOWED_ORIGINS)`;
    if (origin !== undefined && !this.originAllowed(origin, host))
      return `origin ${JSON.stringify(origin)} is not allowed (ALLOWED_ORIGINS)`;
    return undefined;
  }

  private hostAllowed(host: string): boolean {
    const h = host.toLowerCase();
    return this.hosts.has(h) || isLoopbackOrAddress(hostname(h));
  }

  private originAllowed(origin: string, host: string): boolean {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.host.toLowerCase() === host.toLowerCase()) return true;
    if (this.allowed !== '*' && this.allowed.includes(url.origin)) return true;
    return this.allowed.length === 0 && isLoopback(url.hostname);
  }
}

/** Refuses requests whose Host or Origin is not ours with 403, except the probes (kubelet sends a pod IP). */
export function originGuard(policy: OriginPolicy, exempt: string[]): MiddlewareHandler {
  return async (c, next) => {
    if (exempt.includes(c.req.path)) return next();
    const refusal = policy.refusal(c.req.header('host'), c.req.header('origin'));
    if (!refusal) return next();
    return c.json({ error: { code: 'FORBIDDEN', message: refusal } } satisfies HttpError, 403);
  };
}

/** The name part of a Host header value: `[::1]:3000` → `::1`, `example.com:80` → `example.com`. */
function hostname(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

function isLoopback(name: string): boolean {
  const n = name.replace(/^\[|\]$/g, '');
  return n === 'localhost' || n.endsWith('.localhost') || n === '::1' || /^127\.\d+\.\d+\.\d+$/.test(n);
}

function isLoopbackOrAddress(name: string): boolean {
  return isLoopback(name) || /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || (name.includes(':') && /^[0-9a-f:.]+$/i.test(name));
}
