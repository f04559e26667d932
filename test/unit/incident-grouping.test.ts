import { describe, expect, it } from 'vitest';
import type { Incident, UnhealthyConsumer, VerdictReport } from '../../protocol/incidents.ts';
import { groupConsumers, keepInOpenIncidents } from '../../signaling/incidents/grouping.ts';

let n = 0;
const consumer = (changes: Partial<UnhealthyConsumer>): UnhealthyConsumer => ({
  roomId: 'room',
  consumerId: `c${++n}`,
  peerId: 'viewer',
  producerId: 'p1',
  producerPeerId: 'pub1',
  cause: 'no-rtp-from-producer',
  since: 1000,
  pipedFrom: null,
  workerPid: 10,
  repairs: [],
  ...changes,
});
const report = (instanceId: string, consumers: UnhealthyConsumer[], producers: VerdictReport['producers'] = []) => ({
  instanceId,
  at: 0,
  consumers,
  producers,
});
const viewers = ['v1', 'v2', 'v3', 'v4', 'v5', 'v6'];

describe('incident correlator: grouping by root cause', () => {
  it('puts every consumer starved across one pipe into one group, whatever their publisher', () => {
    const starved = viewers.flatMap((v) =>
      ['pub1', 'pub2'].map((pub) => consumer({ peerId: v, producerPeerId: pub, producerId: `${pub}-cam`, pipedFrom: 'A' })),
    );
    const groups = groupConsumers([report('A', []), report('B', starved)]);
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({ key: 'pipe:A>B', scope: 'pipe', title: 'pipe A→B' });
    expect(groups[0]!.consumers).toHaveLength(12);
  });

  it('blames the publisher, not the pipe, when the origin says its producer is at fault', () => {
    const starved = viewers.map((v) => consumer({ peerId: v, pipedFrom: 'A' }));
    const origin = report(
      'A',
      [],
      [{ roomId: 'room', producerId: 'p1', peerId: 'pub1', cause: 'publisher-uplink-lost', since: 0 }],
    );
    const groups = groupConsumers([origin, report('B', starved)]);
    expect(groups.map((g) => [g.key, g.cause, g.consumers.length])).toEqual([['publisher:pub1', 'publisher-uplink-lost', 6]]);
    expect(groups[0]!.title).toBe('publisher uplink lost (publisher pub1)');
  });

  it('groups consumers that carry a publisher-side cause by their publisher', () => {
    const groups = groupConsumers([
      report(
        'A',
        viewers.map((v) => consumer({ peerId: v, cause: 'encoder-stalled' })),
      ),
    ]);
    expect(groups.map((g) => g.key)).toEqual(['publisher:pub1']);
  });

  it('calls transports down for several subscribers on one worker that worker, for one subscriber its network', () => {
    const down = viewers.map((v) => consumer({ peerId: v, cause: 'transport-not-connected' }));
    expect(groupConsumers([report('A', down)]).map((g) => g.key)).toEqual(['worker:A:10']);
    const spread = down.map((c, i) => ({ ...c, workerPid: 10 + (i % 2) }));
    expect(groupConsumers([report('A', spread)]).map((g) => g.key)).toEqual(['media-worker:A']);
    const one = [
      consumer({ peerId: 'v1', cause: 'transport-not-connected' }),
      consumer({ peerId: 'v1', cause: 'transport-not-connected' }),
    ];
    expect(groupConsumers([report('A', one)]).map((g) => [g.key, g.consumers.length])).toEqual([['subscriber:v1', 2]]);
  });

  it('keeps a subscriber’s own faults to that subscriber, and a muted publisher out of it', () => {
    const groups = groupConsumers([
      report('A', [
        consumer({ peerId: 'v1', cause: 'decoder-stall' }),
        consumer({ peerId: 'v2', cause: 'codec-unsupported' }),
        consumer({ peerId: 'v3', cause: 'producer-paused' }),
      ]),
    ]);
    expect(groups.map((g) => g.key).sort()).toEqual(['subscriber:v1', 'subscriber:v2']);
  });

  it('does not blame a pipe whose origin is silent (it may be the origin that died)', () => {
    const groups = groupConsumers([
      report(
        'B',
        viewers.map((v) => consumer({ peerId: v, pipedFrom: 'A' })),
      ),
    ]);
    expect(groups.map((g) => g.key)).toEqual(['publisher:pub1']);
  });

  it('keeps a consumer recovering from an open incident in it, and a fault of its own out', () => {
    const pipe: Incident = {
      id: 'inc-1',
      key: 'pipe:A>B',
      scope: 'pipe',
      title: 'pipe A→B',
      cause: 'no-rtp-from-producer',
      rooms: ['room'],
      peers: ['v1', 'v2', 'pub1'],
      consumers: ['in-pipe-1', 'in-pipe-2'],
      startedAt: 0,
      updatedAt: 0,
      endedAt: null,
      repairs: [],
    };
    const recovering = consumer({ consumerId: 'in-pipe-1', peerId: 'v1', cause: 'decoder-stall' });
    const ownNetwork = consumer({ consumerId: 'in-pipe-2', peerId: 'v2', cause: 'transport-not-connected' });
    const elsewhere = consumer({ peerId: 'v3', cause: 'decoder-stall' });
    const groups = groupConsumers([report('B', [recovering, ownNetwork, elsewhere])]);
    expect(groups.map((g) => g.key).sort()).toEqual(['subscriber:v1', 'subscriber:v2', 'subscriber:v3']);
    const kept = keepInOpenIncidents(groups, [pipe]).sort((a, b) => a.key.localeCompare(b.key));
    expect(kept.map((g) => [g.key, g.scope, g.consumers.map((c) => c.consumerId)])).toEqual([
      ['pipe:A>B', 'pipe', ['in-pipe-1']],
      ['subscriber:v2', 'subscriber', ['in-pipe-2']],
      ['subscriber:v3', 'subscriber', [elsewhere.consumerId]],
    ]);
  });
});
