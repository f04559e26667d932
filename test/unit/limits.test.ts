import { describe, expect, it } from 'vitest';
import {
  MAX_LEASES_PER_RENEWAL,
  MAX_VERDICT_CONSUMERS,
  MAX_VERDICT_PRODUCERS,
  MAX_ROOM_PARTICIPANTS,
  NATS_MAX_PAYLOAD_BYTES,
} from '../../protocol/limits.ts';
import { HealthCause, Remediation } from '../../protocol/health.ts';
import { VerdictReport } from '../../protocol/incidents.ts';
import { mediaCommands, RoomPart } from '../../protocol/media.ts';
import type { ProducerInfo } from '../../protocol/room.ts';
import { ALL_SOURCES } from '../../protocol/auth.ts';
import { SOURCE_KIND } from '../../protocol/room.ts';

/**
 * What crosses NATS must fit its max payload whatever the users do: a full room with the longest names JSON
 * can make (64 control characters, each escaped to six bytes) and every peer publishing every source.
 */
describe('bounded bus messages', () => {
  const uuid = () => crypto.randomUUID();
  const worstName = '\u0001'.repeat(64);
  const peers = Array.from({ length: MAX_ROOM_PARTICIPANTS }, () => ({ id: uuid(), displayName: worstName }));
  const producers: ProducerInfo[] = peers.flatMap((peer) =>
    ALL_SOURCES.map((source) => ({ id: uuid(), peerId: peer.id, kind: SOURCE_KIND[source], source, paused: false })),
  );
  const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;

  it('keeps a full room part (KV) and a full join reply under the NATS max payload', () => {
    const part = RoomPart.parse({ instanceId: 'mw-some-long-host-name-1234', peers, producers, updatedAt: Date.now() });
    const view = { routerRtpCapabilities: { codecs: [] }, peers, producers };
    console.log(`worst-case room of ${MAX_ROOM_PARTICIPANTS}: part ${bytes(part)} bytes, join reply ${bytes(view)} bytes`);
    expect(bytes(part)).toBeLessThan(NATS_MAX_PAYLOAD_BYTES * 0.9);
    expect(bytes({ ok: true, data: view })).toBeLessThan(NATS_MAX_PAYLOAD_BYTES * 0.9);
  });

  it("keeps a full verdict report (the doctor's, for the incident correlator) under it", () => {
    const longest = (values: readonly string[]) => values.reduce((a, b) => (b.length > a.length ? b : a));
    const id = () => 'i'.repeat(64);
    const report = VerdictReport.parse({
      instanceId: id(),
      at: Date.now(),
      consumers: Array.from({ length: MAX_VERDICT_CONSUMERS }, () => ({
        roomId: 'r'.repeat(64),
        consumerId: id(),
        peerId: id(),
        producerId: id(),
        producerPeerId: id(),
        cause: longest(HealthCause.options),
        since: Date.now(),
        pipedFrom: id(),
        workerPid: 4_194_304,
        repairs: Remediation.options,
      })),
      producers: Array.from({ length: MAX_VERDICT_PRODUCERS }, () => ({
        roomId: 'r'.repeat(64),
        producerId: id(),
        peerId: id(),
        cause: longest(HealthCause.options),
        since: Date.now(),
      })),
    });
    console.log(`worst-case verdict report: ${bytes(report)} bytes`);
    expect(bytes(report)).toBeLessThan(NATS_MAX_PAYLOAD_BYTES * 0.9);
  });

  it('keeps a full lease renewal under it too', () => {
    const request = mediaCommands.renewLeases.request.parse({
      peers: Array.from({ length: MAX_LEASES_PER_RENEWAL }, () => ({ roomId: 'r'.repeat(64), peerId: uuid() })),
    });
    expect(bytes(request)).toBeLessThan(NATS_MAX_PAYLOAD_BYTES * 0.9);
  });
});
