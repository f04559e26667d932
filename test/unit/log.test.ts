import { trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { context, ROOT_CONTEXT } from '../../tracing/context.ts';
import { log, setLogService } from '../../tracing/log.ts';

describe('structured logs', () => {
  afterEach(() => vi.restoreAllMocks());
  // As the SDK sets it up in every process.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

  it('writes one JSON object per line with the active span’s trace and span ids', () => {
    const lines: string[] = [];
    vi.spyOn(console, 'warn').mockImplementation((line: string) => lines.push(line));
    setLogService('parley-test');
    const span = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 };
    context.with(trace.setSpanContext(ROOT_CONTEXT, span), () => log.warn('repair failed', { consumer: 'c1', n: 2 }));
    log.warn('outside any trace');
    const [inTrace, outside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(inTrace).toMatchObject({
      level: 'warn',
      service: 'parley-test',
      message: 'repair failed',
      trace_id: span.traceId,
      span_id: span.spanId,
      consumer: 'c1',
      n: 2,
    });
    expect(Date.parse(String(inTrace!.time))).toBeGreaterThan(0);
    expect(outside).not.toHaveProperty('trace_id');
  });
});
