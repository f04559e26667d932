import { ParleyError } from '../../protocol/errors.ts';
import { log, reason } from '../../tracing/log.ts';

export function isCode(err: unknown, code: ParleyError['code']): boolean {
  return err instanceof ParleyError && err.code === code;
}

export function logError(what: string) {
  return (err: unknown) => log.error(`${what} failed`, { error: reason(err) });
}
