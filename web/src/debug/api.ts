import { z } from 'zod';
import { RoomDiagnosis, SpanRecord } from '../../../protocol/telemetry.ts';
import type { TraceSummary } from '../../../tracing/store.ts';

/*
 * The dashboard's side of signaling/debug.ts. Responses are validated: a dashboard that renders half of a
 * changed shape would mislead the operator more than one that says it cannot read it.
 */

export const RoomError = z.object({ roomId: z.string(), instanceId: z.string(), message: z.string() });
export type RoomError = z.infer<typeof RoomError>;

const RoomsResponse = z.object({ rooms: z.array(RoomDiagnosis), errors: z.array(RoomError) });
export type RoomsResponse = z.infer<typeof RoomsResponse>;

const TraceSummarySchema = z.object({
  traceId: z.string(),
  name: z.string(),
  startMs: z.number(),
  endMs: z.number(),
  spans: z.number(),
  services: z.array(z.string()),
  errors: z.number(),
}) satisfies z.ZodType<TraceSummary>;
const TracesResponse = z.object({ traces: z.array(TraceSummarySchema) });
const TraceResponse = z.object({ traceId: z.string(), spans: z.array(SpanRecord) });

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
  const parsed = z.object({ error: z.object({ message: z.string() }) }).safeParse(body);
  return parsed.success ? parsed.data.error.message : undefined;
}

export function fetchRooms(token: string, q: string): Promise<RoomsResponse> {
  return get(`/debug/api/rooms?q=${encodeURIComponent(q)}`, token, RoomsResponse);
}

export async function fetchTraces(token: string, limit = 50): Promise<TraceSummary[]> {
  return (await get(`/debug/api/traces?limit=${limit}`, token, TracesResponse)).traces;
}

export async function fetchTrace(token: string, traceId: string): Promise<SpanRecord[]> {
  return (await get(`/debug/api/traces/${encodeURIComponent(traceId)}`, token, TraceResponse)).spans;
}

/**
 * Whether this server hands out development tokens. There is no endpoint that says so: an empty request to
 * the token endpoint is refused as malformed (400) when it exists, and not found otherwise. Mints nothing.
 */
export async function devTokensOffered(): Promise<boolean> {
  const res = await fetch('/api/dev/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  }).catch(() => null);
  return res?.status === 400;
}

export async function devAdminToken(): Promise<string> {
  const res = await fetch('/api/dev/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'admin', room: '*', admin: true }),
  });
  if (!res.ok) throw new ApiError(res.status, 'this server does not hand out development tokens');
  const parsed = z.object({ token: z.string() }).safeParse(await res.json());
  if (!parsed.success) throw new ApiError(0, 'unexpected answer from /api/dev/token');
  return parsed.data.token;
}
