import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import type { IConfigMap } from 'kubernetes-models/v1';
import { Bot } from '../../bots/bot.ts';
import { waitUntil } from '../../harness/media-checks.ts';
import { startStack } from '../../harness/stack.ts';
import type { RunningStack } from '../../harness/stack.ts';
import { CLIENT_PROTOCOL_VERSION } from '../../protocol/client.ts';
import { ensureImages } from '../../scripts/stack/images.ts';
import type { StackImages } from '../../scripts/stack/images.ts';
import { podman, repoRoot } from '../../scripts/stack/podman.ts';
import { MEDIA_WORKERS, SIGNALING } from '../../scripts/stack/services.ts';
import { issueToken } from '../../signaling/auth.ts';

/**
 * Autoscaling on the real metric: the stack's Prometheus scrapes every media-worker and signaling instance, and
 * the queries the shipped autoscalers use (the KEDA ScaledObject's triggers for media-workers; prometheus-adapter's
 * rule behind the signaling HPA's Pods metric) are evaluated against it, read from the manifests themselves.
 * The replica counts their formulas give are asserted to rise under load and fall back after:
 * - KEDA (AverageValue): desired = ceil(value / threshold) per trigger, the largest wins, within min..max.
 * - HPA (Pods, AverageValue): desired = ceil(sum over pods / averageValue), within min..max.
 * Load: media bots (bots/bot.ts) for the media-workers' consumers; idle WebSocket clients for signaling's
 * connections (its target is 2000 per pod). The stack runs with a consumer budget of 8 per media-worker
 * (MEDIA_MAX_CONSUMERS_PER_WORKER), so four bots are over two instances' worth.
 */
const manifests = path.join(repoRoot, 'infra/k8s/manifests');
/** The first object of `kind` in a manifest file (test/unit/infra.test.ts validates them against their schemas). */
function manifest<T>(file: string, kind: string): T {
  const docs = parseAllDocuments(fs.readFileSync(path.join(manifests, file), 'utf8')).map((d) => d.toJS() as { kind?: string });
  const found = docs.find((d) => d.kind === kind);
  if (!found) throw new Error(`no ${kind} in ${file}`);
  return found as T;
}
const scaledObject = manifest<IScaledObject>('media-worker-autoscaling.yaml', 'ScaledObject');
const hpa = manifest<IHorizontalPodAutoscaler>('signaling.yaml', 'HorizontalPodAutoscaler');
const adapterConfig = manifest<IConfigMap>('prometheus-adapter-rules.yaml', 'ConfigMap').data?.['config.yaml'] ?? '';
const adapterRules = (
  parseAllDocuments(adapterConfig)[0]!.toJS() as { rules: { name: { as: string }; seriesQuery: string; metricsQuery: string }[] }
).rules;
const kedaMin = scaledObject.spec.minReplicaCount ?? 0;
const kedaMax = scaledObject.spec.maxReplicaCount ?? 100;
const hpaMin = hpa.spec?.minReplicas ?? 1;
const hpaMax = hpa.spec?.maxReplicas ?? 1;

interface Trigger {
  name: string;
  query: string;
  threshold: number;
}
const triggers: Trigger[] = scaledObject.spec.triggers.map((t) => ({
  name: t.name ?? t.type,
  query: String(t.metadata.query),
  threshold: Number(t.metadata.threshold),
}));
const connectionsMetric = hpa.spec?.metrics?.find((m) => m.type === 'Pods')?.pods;
if (!connectionsMetric) throw new Error('the signaling HPA has no Pods metric');
const connectionsTarget = Number(connectionsMetric.target.averageValue);
const connectionsRule = adapterRules.find((r) => r.name.as === connectionsMetric.metric.name)!;
/** prometheus-adapter's metricsQuery as the adapter renders it for the HPA's pods (the stack's two instances). */
const connectionsQuery = connectionsRule.metricsQuery
  .replace('<<.Series>>', /^(\w+)/.exec(connectionsRule.seriesQuery)![1]!)
  .replace('<<.LabelMatchers>>', `namespace="parley",pod=~"${SIGNALING.join('|')}"`)
  .replace('<<.GroupBy>>', 'pod');

const clamp = (n: number, min: number, max: number) => Math.min(max, Math.max(min, n));

describe('autoscaling on the stack', () => {
  let images: StackImages;
  let stack: RunningStack;
  const bots: Bot[] = [];
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    images = await ensureImages();
    // A small consumer budget, so four bots are more than two instances' worth; connection caps above the idle
    // clients this test opens (they all come from this machine's address).
    stack = await startStack('scale-test', { MEDIA_MAX_CONSUMERS_PER_WORKER: '8', MAX_CONNECTIONS_PER_IP: '5000' });
  }, 35 * 60_000);
  afterAll(async () => {
    for (const b of bots) b.close();
    for (const s of sockets) s.terminate();
    await stack?.down();
  }, 180_000);

  const query = async (promql: string) => {
    const url = `${stack.state.prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`;
    const body = (await (await fetch(url)).json()) as {
      status: string;
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== 'success') throw new Error(`query failed: ${promql}`);
    return body.data.result;
  };
  /** A query's single value; none counts as 0 (the triggers set ignoreNullValues). */
  const scalar = async (promql: string) => Number((await query(promql))[0]?.value[1] ?? 0);

  const keda = async () => {
    const values = await Promise.all(triggers.map((t) => scalar(t.query)));
    const perTrigger = triggers.map((t, i) => ({
      trigger: t.name,
      value: values[i]!,
      threshold: t.threshold,
      replicas: Math.ceil(values[i]! / t.threshold),
    }));
    const desired = clamp(Math.max(...perTrigger.map((p) => p.replicas)), kedaMin, kedaMax);
    return { perTrigger, desired };
  };
  const signalingHpa = async () => {
    const perPod = (await query(connectionsQuery)).map((r) => ({ pod: r.metric.pod!, value: Number(r.value[1]) }));
    const sum = perPod.reduce((n, p) => n + p.value, 0);
    return { perPod, sum, desired: clamp(Math.ceil(sum / connectionsTarget), hpaMin, hpaMax) };
  };

  it('promtool accepts the shipped Prometheus config and rules, and the autoscalers’ queries parse', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-promtool-'));
    try {
      // The checks run as the image's user (nobody): the files must be readable by it.
      fs.chmodSync(dir, 0o755);
      const monitoring = manifest<IPrometheusRule>('monitoring.yaml', 'PrometheusRule');
      fs.writeFileSync(path.join(dir, 'prometheus-rule.yml'), stringify({ groups: monitoring.spec.groups }));
      const queries = [
        ...triggers.map((t) => ({ record: `keda:${t.name}`, expr: t.query })),
        { record: 'hpa:connections', expr: connectionsQuery },
      ];
      fs.writeFileSync(path.join(dir, 'autoscalers.yml'), stringify({ groups: [{ name: 'autoscalers', rules: queries }] }));
      fs.writeFileSync(path.join(dir, 'broken.yml'), 'groups:\n  - name: x\n    rules:\n      - record: a\n        expr: sum(\n');
      const promtool = (...args: string[]) =>
        podman(
          [
            'run',
            '--rm',
            '--no-healthcheck',
            '--network',
            'none',
            '-v',
            `${path.join(repoRoot, 'infra/compose/prometheus.yml')}:/etc/prometheus/prometheus.yml:ro`,
            '-v',
            `${path.join(repoRoot, 'infra/compose/prometheus-rules.yml')}:/etc/prometheus/rules.yml:ro`,
            '-v',
            `${dir}:/check:ro`,
            '--entrypoint',
            'promtool',
            images.prometheus,
            ...args,
          ],
          { combined: true },
        );
      const config = await promtool('check', 'config', '/etc/prometheus/prometheus.yml');
      expect(config).toMatch(/SUCCESS/);
      const rules = await promtool(
        'check',
        'rules',
        '/etc/prometheus/rules.yml',
        '/check/prometheus-rule.yml',
        '/check/autoscalers.yml',
      );
      expect(rules.match(/SUCCESS/g)?.length).toBe(3);
      await expect(promtool('check', 'rules', '/check/broken.yml')).rejects.toThrow(/FAILED|parse error/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('Prometheus scrapes every media-worker and signaling instance', async () => {
    await waitUntil('every target up', async () => (await query('up{job=~"media-worker|signaling"} == 1')).length === 4, 30_000);
    const pods = (await query('up{job=~"media-worker|signaling"}')).map((r) => r.metric.pod).sort();
    expect(pods).toEqual([...MEDIA_WORKERS, ...SIGNALING].sort());
  });

  it('the KEDA and HPA formulas on the live queries: more replicas under load, back to the minimum after', async () => {
    const atRest = { keda: await keda(), hpa: await signalingHpa() };
    console.log(`at rest: KEDA ${JSON.stringify(atRest.keda)}; HPA ${JSON.stringify(atRest.hpa)}`);
    expect(atRest.keda.desired).toBe(kedaMin);
    expect(atRest.hpa.desired).toBe(hpaMin);

    // Media load: four bots publishing camera and microphone in one room, each consuming the three others.
    const room = 'autoscale';
    for (let i = 0; i < 4; i++) {
      const name = `Bot ${i}`;
      const token = await issueToken(stack.state.secret, { identity: `bot-${i}`, name, room });
      const bot = await Bot.join({ url: stack.url, room, name, token });
      bots.push(bot);
      await bot.publish({ shared: true });
    }
    // Signaling load: idle WebSocket clients, as many as it takes to pass one pod's target.
    const wsUrl = `${stack.url.replace(/^http/, 'ws')}/ws?v=${CLIENT_PROTOCOL_VERSION}`;
    const idle = hpaMin * connectionsTarget + 100;
    for (let batch = 0; batch < idle; batch += 200) {
      await Promise.all(
        Array.from({ length: Math.min(200, idle - batch) }, async (_, i) => {
          const token = await issueToken(stack.state.secret, { identity: `idle-${batch + i}`, name: 'Idle' });
          const ws = new WebSocket(`${wsUrl}&token=${token}`);
          sockets.push(ws);
          return new Promise<void>((resolve, reject) => {
            ws.once('open', () => resolve());
            ws.once('error', reject);
          });
        }),
      );
    }

    let underLoad = atRest;
    await waitUntil(
      'the formulas to see the load',
      async () => {
        underLoad = { keda: await keda(), hpa: await signalingHpa() };
        // Every idle socket counted, not just enough of them to pass the target (a scrape can catch them half open).
        return (
          underLoad.keda.desired > atRest.keda.desired && underLoad.hpa.desired > atRest.hpa.desired && underLoad.hpa.sum >= idle
        );
      },
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}: KEDA ${JSON.stringify(underLoad.keda)}; HPA ${JSON.stringify(underLoad.hpa)}`);
    });
    console.log(`under load: KEDA ${JSON.stringify(underLoad.keda)}; HPA ${JSON.stringify(underLoad.hpa)}`);
    // The consumers trigger: 4 bots x 3 others x (audio + video) consumers over one instance's budget (1 x 8).
    const consumers = underLoad.keda.perTrigger.find((p) => p.trigger === 'consumers')!;
    expect(consumers.value).toBeCloseTo(24 / 8, 1);
    expect(underLoad.keda.desired).toBe(Math.ceil(24 / 8 / consumers.threshold));
    expect(underLoad.hpa.sum).toBeGreaterThanOrEqual(idle);

    for (const b of bots.splice(0)) b.close();
    for (const s of sockets.splice(0)) s.close();
    let after = underLoad;
    await waitUntil(
      'the formulas to fall back to the minimum',
      async () => {
        after = { keda: await keda(), hpa: await signalingHpa() };
        return after.keda.desired === atRest.keda.desired && after.hpa.desired === atRest.hpa.desired;
      },
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}: KEDA ${JSON.stringify(after.keda)}; HPA ${JSON.stringify(after.hpa)}`);
    });
    console.log(`after: KEDA ${JSON.stringify(after.keda)}; HPA ${JSON.stringify(after.hpa)}`);
  });
});
