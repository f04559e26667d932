import http from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { consumerLoad, IDLE_CONSUMER_WEIGHT } from '../protocol/media.ts';
import type { MediaWorkerLoad } from '../protocol/media.ts';
import { HealthCause } from '../protocol/telemetry.ts';
import type { HealthStatus, Remediation } from '../protocol/telemetry.ts';
import type { KeyFrameCause } from './sfu/key-frames.ts';

type Load = Omit<MediaWorkerLoad, 'instanceId' | 'version' | 'updatedAt'>;

/** The doctor's repairs since start, counted as they happen (prom-client escapes the label values). */
export class HealthCounters {
  readonly registry = new Registry();
  private instance = '';
  private remediations = new Counter({
    name: 'parley_consumer_remediations_total',
    help: 'Repairs the black-screen doctor attempted.',
    labelNames: ['instance', 'action', 'cause'] as const,
    registers: [this.registry],
  });

  private keyFrames = new Counter({
    name: 'parley_key_frames_forced_total',
    help: 'Key frames asked of a sender at once, past a pending request (after silence, or a cut link that returned).',
    labelNames: ['instance', 'cause'] as const,
    registers: [this.registry],
  });

  /** Called once the instance id is known (before the first scrape). */
  setInstance(instanceId: string): void {
    this.instance = instanceId;
  }

  remediated(action: Remediation, cause: HealthCause): void {
    this.remediations.inc({ instance: this.instance, action, cause });
  }

  keyFrameForced(cause: KeyFrameCause): void {
    this.keyFrames.inc({ instance: this.instance, cause });
  }
}

export interface HealthMetrics {
  counters: HealthCounters;
  verdicts(): Iterable<{ status: HealthStatus; cause: HealthCause | null }>;
}

/**
 * The media-worker's Prometheus figures on prom-client: the registry's load (per instance and per worker) and the
 * doctor's verdicts, both set at scrape time, and its repairs.
 */
export class MediaMetrics {
  private registry = new Registry();
  private gauges = {
    workers: this.gauge('workers', 'mediasoup Workers running.'),
    transports: this.gauge('transports', 'WebRTC transports.'),
    producers: this.gauge('producers', 'Producers.'),
    consumers: this.gauge('consumers', 'Consumers forwarded by this instance.'),
    load: this.gauge(
      'load_consumers',
      `Consumers weighed against capacity: one each while forwarding, ${IDLE_CONSUMER_WEIGHT} while paused (what placement and autoscaling measure).`,
    ),
    pipes: this.gauge('pipes', 'Producers piped from (in) and to (out) other instances: one PipeTransport each.', ['direction']),
    capacity: this.gauge('capacity_consumers', 'Consumers this instance accepts (the autoscaling target).'),
    draining: this.gauge('draining', '1 while draining.'),
    routers: this.gauge('worker_routers', 'Routers per worker.', ['worker']),
    workerConsumers: this.gauge('worker_consumers', 'Consumers per worker.', ['worker']),
    cpu: this.gauge('worker_cpu', 'CPU per worker, share of one core.', ['worker']),
  };
  private health = new Gauge({
    name: 'parley_consumer_health',
    help: "Consumers by the black-screen doctor's verdict (cause is empty unless unhealthy).",
    labelNames: ['instance', 'status', 'cause'] as const,
    registers: [this.registry],
  });

  constructor(
    private instanceId: string,
    private doctor?: HealthMetrics,
  ) {
    doctor?.counters.setInstance(instanceId);
  }

  async render(load: Load): Promise<{ contentType: string; body: string }> {
    const instance = this.instanceId;
    const g = this.gauges;
    g.workers.set({ instance }, load.workers);
    g.transports.set({ instance }, load.transports);
    g.producers.set({ instance }, load.producers);
    g.consumers.set({ instance }, load.consumers);
    g.load.set({ instance }, consumerLoad(load));
    g.pipes.set({ instance, direction: 'in' }, load.pipesIn);
    g.pipes.set({ instance, direction: 'out' }, load.pipesOut);
    g.capacity.set({ instance }, load.capacity);
    g.draining.set({ instance }, load.draining ? 1 : 0);
    for (const gauge of [g.routers, g.workerConsumers, g.cpu]) gauge.reset();
    for (const w of load.perWorker) {
      const labels = { instance, worker: String(w.index) };
      g.routers.set(labels, w.routers);
      g.workerConsumers.set(labels, w.consumers);
      g.cpu.set(labels, w.cpu);
    }
    const registries = [this.registry];
    if (this.doctor) {
      this.setHealth(this.doctor.verdicts());
      registries.push(this.doctor.counters.registry);
    }
    const merged = Registry.merge(registries);
    // On every series: one Prometheus over several regions tells them apart.
    merged.setDefaultLabels({ region: load.region });
    return { contentType: merged.contentType, body: await merged.metrics() };
  }

  /** Every status/cause pair, zeros included, so a series drops to 0 rather than vanishing. */
  private setHealth(verdicts: Iterable<{ status: HealthStatus; cause: HealthCause | null }>): void {
    const instance = this.instanceId;
    const counts = new Map<string, number>();
    const key = (status: HealthStatus, cause: string) => `${status}\t${cause}`;
    for (const status of ['healthy', 'pending', 'paused-by-client'] as const) counts.set(key(status, ''), 0);
    for (const cause of HealthCause.options) counts.set(key('unhealthy', cause), 0);
    for (const v of verdicts) counts.set(key(v.status, v.cause ?? ''), (counts.get(key(v.status, v.cause ?? '')) ?? 0) + 1);
    for (const [k, n] of counts) {
      const [status = '', cause = ''] = k.split('\t');
      this.health.set({ instance, status, cause }, n);
    }
  }

  private gauge(name: string, help: string, extra: string[] = []): Gauge<string> {
    return new Gauge({ name: `parley_media_${name}`, help, labelNames: ['instance', ...extra], registers: [this.registry] });
  }
}

/** /metrics, /healthz and /readyz (503 while draining) for Prometheus and orchestrators. */
export async function serveMetrics(
  port: number,
  instanceId: string,
  load: () => Promise<Load>,
  health?: HealthMetrics,
): Promise<http.Server> {
  const metrics = new MediaMetrics(instanceId, health);
  const server = http.createServer((req, res) => {
    void load()
      .then(async (current) => {
        if (req.url === '/metrics') {
          const { contentType, body } = await metrics.render(current);
          res.writeHead(200, { 'content-type': contentType }).end(body);
        } else if (req.url === '/healthz') {
          res.writeHead(200).end('ok');
        } else if (req.url === '/readyz') {
          res.writeHead(current.draining ? 503 : 200).end(current.draining ? 'draining' : 'ready');
        } else {
          res.writeHead(404).end();
        }
      })
      .catch((err: Error) => res.writeHead(500).end(err.message));
  });
  // A port in use is the operator's to fix: it fails the start (MEDIA_METRICS_PORT), not later.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  return server;
}
