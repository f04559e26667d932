import type { z } from 'zod';
import { DebugRoomsResponse, DebugTraceResponse, DebugTracesResponse, HttpError, httpPaths } from '../../../protocol/http.ts';
import type { SpanRecord, TraceSummary } from '../../../protocol/telemetry.ts';

/*
 * The dashboard's side of signaling/debug.ts. Responses are validated: a dashboard that renders half of a
 * changed shape would mislead the operator more than one that says it cannot read it.
 */

/** `status` is the HTTP status: 401 no or bad token, 403 not an admin; 0 an unreadable answer. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function get<T>(path: string, token: string, schema: z.ZodType<T>): Promise<T> {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, errorMessage(body) ?? `${res.status} ${res.statusText}`);
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ApiError(0, `unexpected answer from ${path.split('?')[0]}`);
  return parsed.data;
}

function errorMessage(body: unknown): string | undefined {
  const parsed = HttpError.safeParse(body);
  return parsed.success ? parsed.data.error.message : undefined;
}

export function fetchRooms(token: string, q: string): Promise<DebugRoomsResponse> {
  return get(`${httpPaths.debugRooms}?q=${encodeURIComponent(q)}`, token, DebugRoomsResponse);
}

export async function fetchTraces(token: string, limit = 50): Promise<TraceSummary[]> {
  return (await get(`${httpPaths.debugTraces}?limit=${limit}`, token, DebugTracesResponse)).traces;
}

export async function fetchTrace(token: string, traceId: string): Promise<SpanRecord[]> {
  return (await get(`${httpPaths.debugTraces}/${encodeURIComponent(traceId)}`, token, DebugTraceResponse)).spans;
}
