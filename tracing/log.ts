import { isSpanContextValid, trace } from '@opentelemetry/api';
import { context } from './context.ts';

/*
 * Structured logs: one JSON object per line, with the trace and span ids of the active span when there is one,
 * so a log line leads to its trace (in /debug or any OTLP backend) and back. Runtime-neutral (Node and Deno).
 */

type Level = 'info' | 'warn' | 'error';
type Fields = Record<string, string | number | boolean | null | undefined>;

let service = 'parley';

/** The process's `service.name` in every line (each entry point sets it once). */
export function setLogService(name: string): void {
  service = name;
}

function write(level: Level, message: string, fields: Fields): void {
  const span = trace.getSpanContext(context.active());
  const ids = span && isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {};
  const line = JSON.stringify({ time: new Date().toISOString(), level, service, message, ...ids, ...fields });
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
}

export const log = {
  info: (message: string, fields: Fields = {}) => write('info', message, fields),
  warn: (message: string, fields: Fields = {}) => write('warn', message, fields),
  error: (message: string, fields: Fields = {}) => write('error', message, fields),
};

/** An error's message for a log field. */
export function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
