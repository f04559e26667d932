/*
 * How a process that cannot start says so: one line an operator can act on (which variable, which port,
 * which NATS server), not a stack trace. Runtime-free, so Node and Deno entry points share it.
 */

/** A start failure the operator must fix (configuration, a port, NATS): its message is the whole story. */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

/** One line for a failure an operator can fix; anything else keeps its stack (it is a bug). */
export function describeStartupFailure(err: unknown): string {
  if (err instanceof StartupError) return err.message;
  // JetStream calls made while starting (opening KV buckets) under a credential that may not make them.
  const message = err instanceof Error ? err.message : '';
  if (/Permissions Violation/.test(message)) return `NATS refused this credential: ${message} (see infra/nats/permissions.conf)`;
  const code = (err as { code?: unknown } | null)?.code;
  const name = (err as { name?: unknown } | null)?.name;
  if (code === 'EADDRINUSE' || name === 'AddrInUse')
    return `cannot listen: ${addressOf(err)} is already in use (set PORT, or stop the other process)`;
  if (code === 'EACCES' || name === 'PermissionDenied')
    return `cannot listen on ${addressOf(err)}: permission denied (ports below 1024 need privileges)`;
  if (code === 'EADDRNOTAVAIL' || name === 'AddrNotAvailable')
    return `cannot listen on ${addressOf(err)}: no such local address (check HOST)`;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

function addressOf(err: unknown): string {
  const { address, port } = (err ?? {}) as { address?: string; port?: number };
  return address !== undefined && port !== undefined ? `${address}:${port}` : 'the address';
}
