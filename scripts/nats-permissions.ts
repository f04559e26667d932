import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { regionalBucket, regionalBuckets } from '../protocol/kv.ts';
import type { RegionalBucket } from '../protocol/kv.ts';
import { DEFAULT_REGION, Region } from '../protocol/regions.ts';

export const PERMISSIONS_CONF = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../infra/nats/permissions.conf');

/** A regional bucket's name inside a subject: `$KV.<name>.…`, `KV_<name>` (its stream), not a longer name it begins. */
const regionalSubject = new RegExp(`(\\$KV\\.|KV_)(${regionalBuckets.join('|')})(?=[.*>"]|$)`);

/**
 * infra/nats/permissions.conf for a deployment with named regions: each subject of a regional bucket
 * (protocol/kv.ts) becomes one per region, since a bucket's name is a whole subject token that no wildcard can
 * match part of. Every region's signaling reads every region's presence and, for a session resumed from another
 * region, its session records, so each role gets all regions' names.
 */
export function regionalPermissions(conf: string, regions: string[]): string {
  const named = regions.filter((r) => r !== DEFAULT_REGION);
  if (named.length === 0) return conf;
  return conf.replace(/"([^"\n]*)"/g, (quoted, subject: string) => {
    const found = regionalSubject.exec(subject);
    if (!found) return quoted;
    const bucket = found[2] as RegionalBucket;
    return named.map((region) => `"${subject.replace(regionalSubject, `$1${regionalBucket(bucket, region)}`)}"`).join(', ');
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // `npx tsx scripts/nats-permissions.ts seoul frankfurt > permissions.conf`
  const regions = process.argv.slice(2);
  const invalid = regions.find((r) => !Region.safeParse(r).success);
  if (regions.length === 0 || invalid !== undefined) {
    console.error(
      `usage: nats-permissions.ts <region> [<region>…] (every region of the deployment)${invalid ? `; not a region name: ${invalid}` : ''}`,
    );
    process.exit(2);
  }
  process.stdout.write(regionalPermissions(fs.readFileSync(PERMISSIONS_CONF, 'utf8'), regions));
}
