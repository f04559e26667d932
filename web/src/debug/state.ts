import { signal } from '@preact/signals';
import type { RoomDiagnosis, SpanRecord } from '../../../protocol/telemetry.ts';
import type { TraceSummary } from '../../../protocol/telemetry.ts';
import { t } from '../i18n/index.ts';
import { ApiError, fetchIncidents, fetchRooms, fetchTrace, fetchTraces } from './api.ts';
import type { DebugIncidentsResponse, DebugRoomError as RoomError } from '../../../protocol/http.ts';
import { ProblemReport } from '../../../protocol/problem-report.ts';

/** The dashboard's state: components read these, only this module writes them. */

const TOKEN_KEY = 'parley.adminToken';
const REFRESH_MS = 2000;

export interface OpenTrace {
  traceId: string;
  /** What was clicked: "camera of Alice at Bob", or the trace's root name. */
  title: string;
  /** The consumer it was opened from (several consumers made by one join share its trace). */
  consumerId?: string;
  spans: SpanRecord[];
  loading: boolean;
  error?: string;
}

// Kept for this tab only: an admin token should not outlive the session in localStorage.
export const token = signal<string | null>(sessionStorage.getItem(TOKEN_KEY));
/** Why the token was refused (401, 403), shown by the token form (worded when shown, in the current language). */
export const tokenProblem = signal<(() => string) | null>(null);
export const query = signal('');
export const rooms = signal<RoomDiagnosis[] | null>(null);
export const roomErrors = signal<RoomError[]>([]);
export const recentTraces = signal<TraceSummary[]>([]);
/** The fleet's incidents (open first) and the signaling instance correlating them. */
export const incidents = signal<DebugIncidentsResponse | null>(null);
/** A user's "Report a problem" document opened here, or why it could not be read. */
export const openedReport = signal<{ report: ProblemReport } | { error: string } | null>(null);
export const loadError = signal<(() => string) | null>(null);
export const updatedAt = signal<number | null>(null);
export const openTrace = signal<OpenTrace | null>(null);
export const selectedSpan = signal<string | null>(null);

export function saveToken(value: string): void {
  sessionStorage.setItem(TOKEN_KEY, value);
  tokenProblem.value = null;
  token.value = value;
}

export function forgetToken(problem: (() => string) | null = null): void {
  sessionStorage.removeItem(TOKEN_KEY);
  tokenProblem.value = problem;
  token.value = null;
  rooms.value = null;
  openTrace.value = null;
}

/** Rooms, recent traces and the open trace (its live spans grow), all at once. */
export async function refresh(): Promise<void> {
  const current = token.value;
  if (!current) return;
  try {
    const [found, traces, fleet] = await Promise.all([
      fetchRooms(current, query.value.trim()),
      fetchTraces(current),
      fetchIncidents(current),
    ]);
    incidents.value = fleet;
    rooms.value = found.rooms;
    roomErrors.value = found.errors;
    recentTraces.value = traces;
    loadError.value = null;
    updatedAt.value = Date.now();
    const open = openTrace.value;
    if (open && !open.loading) await loadTrace(current, open);
  } catch (err) {
    failed(err);
  }
}

/** Opens a trace; from a consumer, its span in the media worker (its life as events) is selected. */
export async function showTrace(traceId: string, title: string, consumerId?: string): Promise<void> {
  const current = token.value;
  if (!current) return;
  selectedSpan.value = null;
  const opening: OpenTrace = { traceId, title, consumerId, spans: [], loading: true };
  openTrace.value = opening;
  const spans = await loadTrace(current, opening);
  if (consumerId && selectedSpan.value === null) selectedSpan.value = consumerSpan(spans, consumerId)?.spanId ?? null;
}

/** A report file a user sent: validated against its schema, then shown with its trace opened. */
export async function openReport(text: string): Promise<void> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    openedReport.value = { error: 'This file is not JSON.' };
    return;
  }
  const parsed = ProblemReport.safeParse(json);
  if (!parsed.success) {
    openedReport.value = { error: `Not a Parley problem report: ${parsed.error.issues[0]?.message ?? 'unknown shape'}.` };
    return;
  }
  openedReport.value = { report: parsed.data };
  if (parsed.data.traceId) await showTrace(parsed.data.traceId, `report from ${parsed.data.peerId}`);
}

export function closeTrace(): void {
  openTrace.value = null;
  selectedSpan.value = null;
}

/** Refreshes every 2 s while mounted; returns the stop function. */
export function startPolling(): () => void {
  void refresh();
  const timer = setInterval(() => void refresh(), REFRESH_MS);
  return () => clearInterval(timer);
}

async function loadTrace(current: string, trace: OpenTrace): Promise<SpanRecord[]> {
  // Another trace may have been opened meanwhile: then this answer is dropped.
  const stillOpen = () => openTrace.value?.traceId === trace.traceId && openTrace.value.consumerId === trace.consumerId;
  try {
    const spans = await fetchTrace(current, trace.traceId);
    if (stillOpen()) openTrace.value = { ...trace, spans, loading: false, error: undefined };
    return spans;
  } catch (err) {
    if (stillOpen()) openTrace.value = { ...trace, spans: [], loading: false, error: (err as Error).message };
    failed(err);
    return [];
  }
}

/** The media worker's long span of this consumer, else any span about it. */
function consumerSpan(spans: SpanRecord[], consumerId: string): SpanRecord | undefined {
  const about = spans.filter((s) => s.attributes['parley.consumer'] === consumerId);
  return (
    about.find((s) => s.service === 'parley-media-worker' && s.events.length > 0) ??
    about.find((s) => s.service === 'parley-media-worker') ??
    about[0]
  );
}

function failed(err: unknown): void {
  const reason = (err as Error).message;
  if (err instanceof ApiError && err.status === 401) return forgetToken(() => t('debug.refused', { reason }));
  if (err instanceof ApiError && err.status === 403) return forgetToken(() => t('debug.notAdmin'));
  loadError.value = () => t('debug.loadFailed', { reason });
}
