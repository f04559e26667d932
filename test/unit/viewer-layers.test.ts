import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { describe, expect, it } from 'vitest';
import { ViewerLayers } from '../../media-worker/sfu/viewer-layers.ts';
import type { LayeredConsumer } from '../../media-worker/sfu/viewer-layers.ts';

type Fake = LayeredConsumer & EventEmitter & { close(): void };

function fakeConsumer(id: string, type: types.ConsumerType = 'simulcast'): Fake {
  const observer = new EventEmitter();
  const preferredLayers = { spatialLayer: 2, temporalLayer: 2 };
  const close = () => observer.emit('close');
  return Object.assign(new EventEmitter(), { id, type, preferredLayers, observer, close }) as unknown as Fake;
}

function layersOf() {
  const set: [string, types.ConsumerLayers][] = [];
  const layers = new ViewerLayers<Fake>(async (consumer, l) => void set.push([consumer.id, l]));
  return { layers, set };
}

describe('viewer layers: a resumed consumer starts on its lowest layer and climbs at its first picture', () => {
  it('aims at layer 0, waits for a picture (not for "no layer"), then applies the wish, once', async () => {
    const { layers, set } = layersOf();
    const consumer = fakeConsumer('c1');
    await layers.startLow(consumer);
    expect(set).toEqual([['c1', { spatialLayer: 0 }]]);
    consumer.emit('layerschange', undefined);
    expect(set).toHaveLength(1);
    consumer.emit('layerschange', { spatialLayer: 0, temporalLayer: 0 });
    expect(set.at(-1)).toEqual(['c1', { spatialLayer: 2, temporalLayer: 2 }]);
    consumer.emit('layerschange', { spatialLayer: 1, temporalLayer: 0 });
    expect(set).toHaveLength(2);
    expect(consumer.listenerCount('layerschange')).toBe(0);
  });

  it('keeps a wish made while climbing for the first picture, and applies one made after it at once', async () => {
    const { layers, set } = layersOf();
    const consumer = fakeConsumer('c1');
    await layers.startLow(consumer);
    await layers.want(consumer, { spatialLayer: 1 });
    expect(set).toEqual([['c1', { spatialLayer: 0 }]]);
    // Dynacast sees the wish, not the start-low aim: the publisher keeps sending layer 1.
    expect(layers.wanted(consumer)).toBe(1);
    consumer.emit('layerschange', { spatialLayer: 0, temporalLayer: 2 });
    expect(set.at(-1)).toEqual(['c1', { spatialLayer: 1 }]);
    await layers.want(consumer, { spatialLayer: 0 });
    expect(set.at(-1)).toEqual(['c1', { spatialLayer: 0 }]);
    expect(layers.wanted(consumer)).toBe(0);
  });

  it('starts low again on every resume, with one listener at a time', async () => {
    const { layers, set } = layersOf();
    const consumer = fakeConsumer('c1');
    await layers.startLow(consumer);
    await layers.startLow(consumer);
    expect(consumer.listenerCount('layerschange')).toBe(1);
    consumer.emit('layerschange', { spatialLayer: 0, temporalLayer: 0 });
    await layers.startLow(consumer);
    expect(set.map(([, l]) => l.spatialLayer)).toEqual([0, 0, 2, 0]);
  });

  it('leaves single-stream consumers alone and forgets a closed consumer', async () => {
    const { layers, set } = layersOf();
    const screen = fakeConsumer('s1', 'simple');
    await layers.startLow(screen);
    expect(set).toEqual([]);
    const consumer = fakeConsumer('c1');
    await layers.startLow(consumer);
    consumer.close();
    expect(layers.wanted(consumer)).toBeUndefined();
    expect(consumer.listenerCount('layerschange')).toBe(0);
  });
});
