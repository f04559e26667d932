#!/usr/bin/env node
// The `parley` bin: `parley load-test [options]` (alias `loadtest`). Plain JS so it runs without a build;
// the TypeScript command itself runs under tsx, resolved from this package.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const commands = { 'load-test': 'loadtest.ts', loadtest: 'loadtest.ts' };
const [command, ...args] = process.argv.slice(2);
const script = commands[command ?? ''];
if (!script) {
  console.error(
    'usage: parley load-test [--url http://host:port] [--rooms R] [--publishers P] [--subscribers S] [--duration 60s] [--json]',
  );
  process.exit(2);
}
const tsx = createRequire(import.meta.url).resolve('tsx');
const child = spawn(process.execPath, ['--import', tsx, path.join(here, script), ...args], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
