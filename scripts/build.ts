import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type { Metafile } from 'esbuild';

/**
 * `npm run build -- <target>...` (no target: all): what the container images run, in dist/<target>/.
 * - Node targets are one esbuild bundle of their entry point (main.js: no tsx, no TypeScript at run time) plus
 *   node_modules holding only the packages that cannot be bundled, with their production dependencies:
 *   mediasoup spawns its C++ worker and reads its own package files.
 * - The Deno target keeps the TypeScript (Deno runs it natively); it gets the npm packages its entry point
 *   reaches, found by resolving its import graph, and nothing else.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const modules = path.join(root, 'node_modules');

interface NodeTarget {
  kind: 'node';
  entry: string;
  /** Loaded from node_modules at run time instead of bundled. */
  external: string[];
}
interface DenoTarget {
  kind: 'deno';
  entry: string;
}
export const targets: Record<string, NodeTarget | DenoTarget> = {
  'media-worker': { kind: 'node', entry: 'media-worker/main.ts', external: ['mediasoup'] },
  'signaling-node': { kind: 'node', entry: 'signaling/main.ts', external: [] },
  'signaling-deno': { kind: 'deno', entry: 'signaling/deno.ts' },
};

/** Parts of an external package nothing runs: mediasoup's C++ sources (the worker binary comes separately). */
const unusedFiles: Record<string, string[]> = { mediasoup: ['worker', 'node/src', 'node/lib/test'] };
/** Dependencies only an install script uses: mediasoup's postinstall (the worker download) never runs here. */
const unusedDependencies: Record<string, string[]> = { mediasoup: ['tar', 'node-fetch'] };

// `ws` (inside @hono/node-ws) tries these optional native helpers and carries on without them.
const optionalNative = ['bufferutil', 'utf-8-validate'];

// Bundled CommonJS packages call require() and read __dirname; an ES module bundle has neither.
const esmShim = [
  "import { createRequire as __parleyRequire } from 'node:module';",
  "import { fileURLToPath as __parleyPath } from 'node:url';",
  'const require = __parleyRequire(import.meta.url);',
  'const __filename = __parleyPath(import.meta.url);',
  "const __dirname = __parleyPath(new URL('.', import.meta.url));",
].join('\n');

async function buildNode(name: string, target: NodeTarget): Promise<void> {
  const out = path.join(root, 'dist', name);
  fs.rmSync(out, { recursive: true, force: true });
  await build({
    entryPoints: [path.join(root, target.entry)],
    outfile: path.join(out, 'main.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    external: [...target.external, ...optionalNative],
    banner: { js: esmShim },
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  fs.writeFileSync(path.join(out, 'package.json'), `${JSON.stringify({ type: 'module', private: true }, null, 2)}\n`);
  for (const dir of withDependencies(target.external)) copyPackage(dir, out);
}

async function buildDeno(name: string, target: DenoTarget): Promise<void> {
  const out = path.join(root, 'dist', name);
  fs.rmSync(out, { recursive: true, force: true });
  // Resolving the graph the way Deno does (its export conditions); the bundle itself is thrown away.
  const result = await build({
    entryPoints: [path.join(root, target.entry)],
    bundle: true,
    write: false,
    outdir: out,
    platform: 'neutral',
    format: 'esm',
    conditions: ['deno', 'import', 'module', 'default'],
    mainFields: ['module', 'main'],
    external: ['node:*', ...builtinModules],
    metafile: true,
    logLevel: 'warning',
  });
  for (const dir of withDependencies(packagesIn(result.metafile))) copyPackage(dir, out);
}

/** node_modules-relative package directories (e.g. `@nats-io/nats-core`, `a/node_modules/b`) a bundle read. */
function packagesIn(metafile: Metafile): string[] {
  const dirs = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /^node_modules\/((?:[^/]+\/node_modules\/)*(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) dirs.add(m[1]!);
  }
  return [...dirs];
}

/** The packages and their production dependencies, resolved as Node does (nested node_modules first). */
function withDependencies(packages: string[]): string[] {
  const found = new Set<string>();
  const visit = (dir: string) => {
    if (found.has(dir)) return;
    found.add(dir);
    const manifest = JSON.parse(fs.readFileSync(path.join(modules, dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    const optional = new Set(Object.keys(manifest.optionalDependencies ?? {}));
    const skipped = unusedDependencies[packageName(dir)] ?? [];
    for (const dep of [...Object.keys(manifest.dependencies ?? {}), ...optional].filter((d) => !skipped.includes(d))) {
      const resolved = resolvePackage(dir, dep);
      if (resolved) visit(resolved);
      else if (!optional.has(dep)) throw new Error(`${dir} depends on ${dep}, which is not installed`);
    }
  };
  for (const name of packages) {
    if (!fs.existsSync(path.join(modules, name, 'package.json'))) throw new Error(`${name} is not installed`);
    visit(name);
  }
  return [...found].sort();
}

/** Where `dep` resolves from package `from`: its own node_modules, then each parent's, then the top level. */
function resolvePackage(from: string, dep: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = `${base}/node_modules/${dep}`;
    if (fs.existsSync(path.join(modules, candidate, 'package.json'))) return candidate;
    const parent = base.lastIndexOf('/node_modules/');
    if (parent < 0) break;
    base = base.slice(0, parent);
  }
  return fs.existsSync(path.join(modules, dep, 'package.json')) ? dep : undefined;
}

const packageName = (dir: string) => dir.split('/node_modules/').at(-1)!;

function copyPackage(dir: string, out: string): void {
  const skip = new Set((unusedFiles[packageName(dir)] ?? []).map((p) => path.join(modules, dir, p)));
  fs.cpSync(path.join(modules, dir), path.join(out, 'node_modules', dir), {
    recursive: true,
    // Nested node_modules are copied on their own, when something needs them.
    filter: (src) => !skip.has(src) && !path.relative(path.join(modules, dir), src).split(path.sep).includes('node_modules'),
  });
}

// Run as a command (not when a test imports the targets).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const wanted = process.argv.slice(2);
  for (const name of wanted.length ? wanted : Object.keys(targets)) {
    const target = targets[name];
    if (!target) {
      console.error(`build: unknown target ${name} (known: ${Object.keys(targets).join(', ')})`);
      process.exit(2);
    }
    const started = Date.now();
    if (target.kind === 'node') await buildNode(name, target);
    else await buildDeno(name, target);
    console.log(`[build] dist/${name} in ${Date.now() - started} ms`);
  }
}
