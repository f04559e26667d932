import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buckets } from '../../protocol/kv.ts';
import { PERMISSIONS_CONF, regionalPermissions } from '../../scripts/nats-permissions.ts';

describe('NATS permissions for named regions', () => {
  const conf = fs.readFileSync(PERMISSIONS_CONF, 'utf8');
  const subjects = (text: string) => [...text.matchAll(/"([^"\n]*)"/g)].map((m) => m[1]!);

  it('gives every regional bucket’s subjects once per region, and leaves every other subject as it is', () => {
    const out = regionalPermissions(conf, ['seoul', 'frankfurt']);
    const regional = new RegExp(`(KV_|KV\\.)(${buckets.presence}|${buckets.memberships})(?=[.*>"]|$)`);
    const [before, after] = [subjects(conf), subjects(out)];
    expect(after.filter((s) => !/-(seoul|frankfurt)\b/.test(s))).toEqual(before.filter((s) => !regional.test(s)));
    for (const subject of before.filter((s) => regional.test(s))) {
      for (const region of ['seoul', 'frankfurt']) expect(after).toContain(subject.replace(regional, `$1$2-${region}`));
    }
    expect(after).toContain(`$KV.${buckets.presence}-seoul.>`);
    expect(after).toContain(`$JS.API.STREAM.CREATE.KV_${buckets.memberships}-frankfurt`);
    // Neither a bucket whose name begins the same nor a comment is touched.
    expect(out.split('\n').filter((l) => l.trimStart().startsWith('#'))).toEqual(
      conf.split('\n').filter((l) => l.trimStart().startsWith('#')),
    );
  });

  it('is the file itself for a deployment that never names its regions', () => {
    expect(regionalPermissions(conf, ['default'])).toBe(conf);
  });
});
