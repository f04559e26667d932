import http from 'node:http';
import type { MediaWorkerLoad } from '../protocol/media.ts';

type Load = Omit<MediaWorkerLoad, 'instanceId' | 'version' | 'updatedAt'>;

/** The registry's figures in Prometheus' text format, per instance and per worker. */
export function renderMetrics(instanceId: string, load: Load): string {
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
    ...gauge('worker_routers', 'Routers per worker.', perWorker((w) => w.routers)),
    ...gauge('worker_consumers', 'Consumers per worker.', perWorker((w) => w.consumers)),
    ...gauge('worker_cpu', 'CPU per worker, share of one core.', perWorker((w) => w.cpu)),
  ].join('\n')}\n`;
}

/** /metrics, /healthz and /readyz (503 while draining) for Prometheus and orchestrators. */
export function serveMetrics(port: number, instanceId: string, load: () => Promise<Load>): http.Server {
  return http
    .createServer((req, res) => {
      void load().then(
        (current) => {
          if (req.url === '/metrics') {
            res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(renderMetrics(instanceId, current));
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
    })
    .listen(port);
}
