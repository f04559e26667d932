import { describe, expect, it } from 'vitest';
import { HealthCounters, MediaMetrics } from '../../media-worker/metrics.ts';

const load = {
  region: 'eu-west',
  workers: 2,
  routers: 1,
  transports: 3,
  producers: 1,
  consumers: 2,
  load: 1.1,
  pipesIn: 3,
  pipesOut: 0,
  capacity: 1000,
  draining: false,
  perWorker: [
    { index: 0, pid: 10, routers: 1, consumers: 2, cpu: 0.25 },
    { index: 1, pid: 11, routers: 0, consumers: 0, cpu: 0 },
  ],
};

describe('media-worker metrics (prom-client)', () => {
  it('renders the load, every verdict (zeros included) and the repairs, with label values escaped and the region', async () => {
    const counters = new HealthCounters();
    const metrics = new MediaMetrics('mw "a"\\b', {
      counters,
      verdicts: () => [{ status: 'unhealthy', cause: 'decoder-stall' }],
    });
    counters.remediated('request-key-frame', 'decoder-stall');
    const { body, contentType } = await metrics.render(load);
    expect(contentType).toMatch(/^text\/plain/);
    const instance = 'instance="mw \\"a\\"\\\\b"';
    const region = 'region="eu-west"';
    expect(body).toContain(`parley_media_capacity_consumers{${instance},${region}} 1000`);
    expect(body).toContain(`parley_media_load_consumers{${instance},${region}} 1.1`);
    expect(body).toContain(`parley_media_pipes{${instance},direction="in",${region}} 3`);
    expect(body).toContain(`parley_media_worker_cpu{${instance},worker="0",${region}} 0.25`);
    expect(body).toContain(`parley_consumer_health{${instance},status="unhealthy",cause="decoder-stall",${region}} 1`);
    expect(body).toContain(`parley_consumer_health{${instance},status="unhealthy",cause="no-key-frame",${region}} 0`);
    expect(body).toContain(
      `parley_consumer_remediations_total{${instance},action="request-key-frame",cause="decoder-stall",${region}} 1`,
    );
  });

  it('forgets workers that are gone', async () => {
    const metrics = new MediaMetrics('mw');
    await metrics.render(load);
    const { body } = await metrics.render({ ...load, workers: 1, perWorker: [load.perWorker[0]!] });
    expect(body).not.toContain('worker="1"');
  });
});
