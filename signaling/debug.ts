import { Hono } from 'hono';
import type { Context } from 'hono';
import type { Bus } from '../bus/bus.ts';
import { KvCache } from '../bus/kv-cache.ts';
import { ParleyError } from '../protocol/errors.ts';
import type {
  DebugIncidentsResponse,
  DebugRoomsResponse,
  DebugTraceResponse,
  DebugTracesResponse,
  HttpError,
} from '../protocol/http.ts';
import { Correlator } from './incidents/correlator.ts';
import { isCurrent, REGISTRY_TTL_MS, RoomPart } from '../protocol/media.ts';
import { buckets, parseRoomPartKey } from '../protocol/kv.ts';
import type { RoomDiagnosis } from '../protocol/telemetry.ts';
import type { TraceStore } from '../tracing/store.ts';
import { verifyToken } from './auth.ts';
import type { TokenPolicy } from './auth.ts';
import type { MediaClient } from './media.ts';

const DIAGNOSE_TIMEOUT_MS = 2000;

export interface DebugApi {
  app: Hono;
  /** The fleet's incidents (one per root cause), for /debug and /metrics. */
  incidents: Correlator;
  close(): void;
}

/**
 * The /debug dashboard's API, for holders of an admin token: every room's media objects with the black-screen
 * doctor's verdicts (asked of each media-worker instance hosting part of the room), and recent traces.
 */
export async function createDebugApi(
  bus: Bus,
  auth: TokenPolicy & { secret: string },
  media: MediaClient,
  store: TraceStore | undefined,
  instanceId: string,
): Promise<DebugApi> {
  const incidents = await Correlator.open(bus, instanceId);
  const parts = await KvCache.open(
    await bus.kv(buckets.roomParts, { ttlMs: REGISTRY_TTL_MS }),
    (v) => RoomPart.safeParse(v).data,
  );
  const app = new Hono();

  app.use('*', async (c, next) => {
    const refused = await refuse(c, auth);
    return refused ?? next();
  });

  app.get('/rooms', async (c) => {
    const q = (c.req.query('q') ?? '').trim().toLowerCase();
    const now = Date.now();
    const hosted = parts
      .entries()
      .filter(([, part]) => isCurrent(part, now))
      .flatMap(([key, part]) => {
        const roomId = parseRoomPartKey(key)?.roomId;
        return roomId ? [[roomId, part] as const] : [];
      });
    const rooms: RoomDiagnosis[] = [];
    const errors: { roomId: string; instanceId: string; message: string }[] = [];
    await Promise.all(
      hosted.map(async ([roomId, part]) => {
        try {
          rooms.push(await media.call(part.instanceId, 'diagnose', { roomId }, undefined, DIAGNOSE_TIMEOUT_MS));
        } catch (err) {
          errors.push({ roomId, instanceId: part.instanceId, message: err instanceof Error ? err.message : String(err) });
        }
      }),
    );
    rooms.sort((a, b) => a.roomId.localeCompare(b.roomId) || a.instanceId.localeCompare(b.instanceId));
    const body: DebugRoomsResponse = {
      rooms: q ? rooms.map((r) => matching(r, q)).filter((r) => r.peers.length > 0) : rooms,
      errors,
    };
    return c.json(body);
  });

  app.get('/traces', (c) => {
    const limit = Math.min(Math.max(Number(c.req.query('limit') ?? 50) || 50, 1), 500);
    return c.json({ traces: store?.recent(limit) ?? [] } satisfies DebugTracesResponse);
  });

  app.get('/traces/:traceId', (c) => {
    const traceId = c.req.param('traceId');
    if (!/^[0-9a-f]{32}$/.test(traceId))
      return c.json({ error: { code: 'BAD_REQUEST', message: 'a trace id is 32 hex digits' } } satisfies HttpError, 400);
    return c.json({ traceId, spans: store?.get(traceId) ?? [] } satisfies DebugTraceResponse);
  });

  app.get('/incidents', async (c) =>
    c.json({ incidents: incidents.list(), correlator: await incidents.leader() } satisfies DebugIncidentsResponse),
  );

  return {
    app,
    incidents,
    close: () => {
      parts.close();
      incidents.close();
    },
  };
}

/** 401 without a valid token, 403 for a valid one without the admin claim; undefined when allowed. */
async function refuse(c: Context, auth: TokenPolicy & { secret: string }): Promise<Response | undefined> {
  const header = c.req.header('authorization') ?? '';
  const token = header.startsWith('Bearer ') ? header.slice(7) : undefined;
  try {
    const claims = await verifyToken(auth.secret, token, auth);
    if (claims.admin) return undefined;
    return c.json({ error: { code: 'FORBIDDEN', message: 'the dashboard needs an admin token' } } satisfies HttpError, 403);
  } catch (err) {
    const message = err instanceof ParleyError ? err.message : 'unauthorized';
    return c.json({ error: { code: 'UNAUTHORIZED', message } } satisfies HttpError, 401);
  }
}

/** Only the peers whose display name or id contains `q`. */
function matching(room: RoomDiagnosis, q: string): RoomDiagnosis {
  const hit = (id: string, name: string) => id.toLowerCase().includes(q) || name.toLowerCase().includes(q);
  return { ...room, peers: room.peers.filter((p) => hit(p.id, p.displayName)) };
}
