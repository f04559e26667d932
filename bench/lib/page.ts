import path from 'node:path';
import { build } from 'esbuild';
import { repoRoot } from '../../harness/processes.ts';

/**
 * Bundles the bench page's client from node_modules. esbuild is the one tsx already runs on (tsx depends on
 * it), so no new dependency; a one-file IIFE needs none of Vite's configuration.
 */
export async function buildBenchPage(): Promise<void> {
  await build({
    entryPoints: [path.join(repoRoot, 'bench/baseline/client.ts')],
    outfile: path.join(repoRoot, 'bench/baseline/dist/client.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    logLevel: 'warning',
  });
}
