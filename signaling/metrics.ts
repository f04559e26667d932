import { isClientMethod } from '../protocol/client.ts';

/** Request figures in Prometheus' text format; runtime-free so Node and Deno expose the same /metrics. */
const BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

export class Metrics {
  private requests = new Map<string, number>();
  private latency = new Map<string, { buckets: number[]; sum: number; count: number }>();
  connections = 0;
  memberships = () => 0;

  request(method: string, code: string, ms: number): void {
    // One label for every method a client made up: the histogram is found under the same key it is kept.
    const name = label(method);
    const key = `method="${name}",code="${code}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const h = this.latency.get(name) ?? { buckets: BUCKETS_MS.map(() => 0), sum: 0, count: 0 };
    BUCKETS_MS.forEach((le, i) => {
      if (ms <= le) h.buckets[i]! += 1;
    });
    h.sum += ms;
    h.count += 1;
    this.latency.set(name, h);
  }

  render(): string {
    const lines = [
      '# HELP parley_signaling_connections Open client WebSockets.',
      '# TYPE parley_signaling_connections gauge',
      `parley_signaling_connections ${this.connections}`,
      '# HELP parley_signaling_memberships Room memberships held, connected or within their resume grace.',
      '# TYPE parley_signaling_memberships gauge',
      `parley_signaling_memberships ${this.memberships()}`,
      '# HELP parley_signaling_requests_total Client requests by method and result code.',
      '# TYPE parley_signaling_requests_total counter',
      ...[...this.requests].map(([k, v]) => `parley_signaling_requests_total{${k}} ${v}`),
      '# HELP parley_signaling_request_duration_ms Client request latency through signaling and the bus.',
      '# TYPE parley_signaling_request_duration_ms histogram',
    ];
    for (const [method, h] of this.latency) {
      BUCKETS_MS.forEach((le, i) =>
        lines.push(`parley_signaling_request_duration_ms_bucket{method="${method}",le="${le}"} ${h.buckets[i]}`),
      );
      lines.push(`parley_signaling_request_duration_ms_bucket{method="${method}",le="+Inf"} ${h.count}`);
      lines.push(`parley_signaling_request_duration_ms_sum{method="${method}"} ${h.sum.toFixed(3)}`);
      lines.push(`parley_signaling_request_duration_ms_count{method="${method}"} ${h.count}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

// Methods come from clients: unknown ones are folded so a client cannot grow our label set.
function label(method: string): string {
  return isClientMethod(method) ? method : 'unknown';
}

/**
 * Every series of a /metrics text with `region="…"` first among its labels, so one Prometheus over several
 * regions tells them apart; in one place, for the three renderers that make up signaling's /metrics.
 */
export function withRegion(text: string, region: string): string {
  const label = `region="${region}"`; // a region name is a subject token: nothing to escape
  return text.replace(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{)?/gm, (_, name: string, brace?: string) =>
    brace ? `${name}{${label},` : `${name}{${label}}`,
  );
}
