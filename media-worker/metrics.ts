import http from 'node:http';
import type { MediaWorkerLoad } from '../protocol/media.ts';
import { HealthCause } from '../protocol/telemetry.ts';
import type { HealthStatus, Remediation } from '../protocol/telemetry.ts';

type Load = Omit<MediaWorkerLoad, 'instanceId' | 'version' | 'updatedAt'>;

/** The doctor's figures: current verdicts (counted at scrape time) and remediations since start. */
export class HealthCounters {
  private remediations = new Map<string, number>();

  remediated(action: Remediation, cause: HealthCause): void {
    const key = `${action}\t${cause}`;
    this.remediations.set(key, (this.remediations.get(key) ?? 0) + 1);
  }

  /** Every status/cause pair, zeros included, so a series drops to 0 rather than vanishing. */
  render(instanceId: string, verdicts: Iterable<{ status: HealthStatus; cause: HealthCause | null }>): string[] {
    const counts = new Map<string, number>();
    const key = (status: HealthStatus, cause: string) => `${status}\t${cause}`;
    for (const status of ['healthy', 'pending', 'paused-by-client'] as const) counts.set(key(status, ''), 0);
    for (const cause of HealthCause.options) counts.set(key('unhealthy', cause), 0);
    for (const v of verdicts) {
      const k = key(v.status, v.cause ?? '');
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    const row = (k: string, names: [string, string], value: number) => {
      const [a, b] = k.split('\t');
      return `{instance="${instanceId}",${names[0]}="${a}",${names[1]}="${b}"} ${value}`;
    };
    return [
      "# HELP parley_consumer_health Consumers by the black-screen doctor's verdict (cause is empty unless unhealthy).",
      '# TYPE parley_consumer_health gauge',
      ...[...counts].map(([k, n]) => `parley_consumer_health${row(k, ['status', 'cause'], n)}`),
      '# HELP parley_consumer_remediations_total Repairs the black-screen doctor attempted.',
      '# TYPE parley_consumer_remediations_total counter',
      ...[...this.remediations].map(([k, n]) => `parley_consumer_remediations_total${row(k, ['action', 'cause'], n)}`),
    ];
  }
}

export interface HealthMetrics {
  counters: HealthCounters;
  verdicts(): Iterable<{ status: HealthStatus; cause: HealthCause | null }>;
}

/** The registry's figures in Prometheus' text format, per instance and per worker. */
export function renderMetrics(instanceId: string, load: Load, health?: HealthMetrics): string {
  const label = `instance="${instanceId}"`;
  const gauge = (name: string, help: string, rows: [string, number][]) => [
    `# HELP parley_media_${name} ${help}`,
    `# TYPE parley_media_${name} gauge`,
    ...rows.map(([labels, value]) => `parley_media_${name}{${labels}} ${value}`),
  ];
  const perWorker = (pick: (w: Load['perWorker'][number]) => number) =>
    load.perWorker.map((w): [string, number] => [`${label},worker="${w.index}"`, pick(w)]);
  return `${[
    ...gauge('workers', 'mediasoup Workers running.', [[label, load.workers]]),
    ...gauge('transports', 'WebRTC transports.', [[label, load.transports]]),
    ...gauge('producers', 'Producers.', [[label, load.producers]]),
    ...gauge('consumers', 'Consumers forwarded by this instance.', [[label, load.consumers]]),
    ...gauge('capacity_consumers', 'Consumers this instance accepts (the autoscaling target).', [[label, load.capacity]]),
    ...gauge('draining', '1 while draining.', [[label, load.draining ? 1 : 0]]),
    ...gauge(
      'worker_routers',
      'Routers per worker.',
      perWorker((w) => w.routers),
    ),
    ...gauge(
      'worker_consumers',
      'Consumers per worker.',
      perWorker((w) => w.consumers),
    ),
    ...gauge(
      'worker_cpu',
      'CPU per worker, share of one core.',
      perWorker((w) => w.cpu),
    ),
    ...(health ? health.counters.render(instanceId, health.verdicts()) : []),
  ].join('\n')}\n`;
}

/** /metrics, /healthz and /readyz (503 while draining) for Prometheus and orchestrators. */
export async function serveMetrics(
  port: number,
  instanceId: string,
  load: () => Promise<Load>,
  health?: HealthMetrics,
): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    void load().then(
      (current) => {
        if (req.url === '/metrics') {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(renderMetrics(instanceId, current, health));
        } else if (req.url === '/healthz') {
          res.writeHead(200).end('ok');
        } else if (req.url === '/readyz') {
          res.writeHead(current.draining ? 503 : 200).end(current.draining ? 'draining' : 'ready');
        } else {
          res.writeHead(404).end();
        }
      },
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  // A port in use is the operator's to fix: it fails the start (MEDIA_METRICS_PORT), not later.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  return server;
}
