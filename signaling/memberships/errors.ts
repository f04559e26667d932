import { ParleyError } from '../../protocol/errors.ts';

export function isCode(err: unknown, code: ParleyError['code']): boolean {
  return err instanceof ParleyError && err.code === code;
}

export function logError(what: string) {
  return (err: unknown) => console.error(`[signaling] ${what} failed:`, err instanceof Error ? err.message : err);
}
