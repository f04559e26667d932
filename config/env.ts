import { z } from 'zod';
import { StartupError } from './startup.ts';
import { Region, RegionEndpoint } from '../protocol/regions.ts';

/*
 * Environment variables as zod schemas, shared by every process (Node and Deno): each tier declares the
 * variables it reads with these, and a wrong value stops the start with one line naming the variable,
 * instead of a silent fallback to the default.
 */

/** An environment as a plain map (process.env, Deno.env.toObject(), or a test's object). */
export type Env = Record<string, string | undefined>;

// An empty value is unset: `FOO=` in a shell or `${FOO:-}` in Compose means "use the default".
const unsetIfEmpty = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

/** A whole number in [min, max], written in decimal. */
export function int(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .regex(/^\s*\d+\s*$/, `expected a whole number from ${min} to ${max}`)
      .transform(Number)
      .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
      .optional(),
  );
}

/** A number (decimals allowed) greater than 0. */
export function positive() {
  return z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .regex(/^\s*\d+(\.\d+)?\s*$/, 'expected a number greater than 0')
      .transform(Number)
      .pipe(z.number().positive('expected a number greater than 0'))
      .optional(),
  );
}

export const port = () => int(0, 65535);

/** 1/true/yes/on or 0/false/no/off. */
export function flag() {
  return z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .transform((v) => v.trim().toLowerCase())
      .pipe(z.enum(['1', 'true', 'yes', 'on', '0', 'false', 'no', 'off'], { error: 'expected 1 or 0 (true or false)' }))
      .transform((v) => ['1', 'true', 'yes', 'on'].includes(v))
      .optional(),
  );
}

/** Any non-empty text. */
export function text() {
  return z.preprocess(unsetIfEmpty, z.string().optional());
}

/** One of `values`. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.preprocess(unsetIfEmpty, z.enum(values, { error: `expected one of ${values.join(', ')}` }).optional());
}

/** A comma-separated list (blank items dropped). */
export function list() {
  return z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .optional(),
  );
}

/** A token usable in NATS subjects and KV keys (instance ids). */
export function subjectToken() {
  return z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1-64 letters, digits, - or _')
      .optional(),
  );
}

/** PARLEY_REGION: where this process runs (protocol/regions.ts); unset is the one default region. */
export function region() {
  return z.preprocess(unsetIfEmpty, Region.optional());
}

/** PARLEY_REGION_URLS: `region=url` pairs, comma-separated (`seoul=https://seoul.example,frankfurt=https://fra.example`). */
export function regionUrls() {
  const pair = z.string().transform((item, ctx) => {
    const at = item.indexOf('=');
    const parsed = RegionEndpoint.safeParse({ region: item.slice(0, at), url: item.slice(at + 1) });
    if (at < 0 || !parsed.success) {
      ctx.addIssue({ code: 'custom', message: `expected region=http(s)://host, got "${item}"` });
      return z.NEVER;
    }
    return parsed.data;
  });
  return z.preprocess(
    (v) =>
      typeof v === 'string' && v.trim()
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : undefined,
    z.array(pair).optional(),
  );
}

/** An IPv4 or IPv6 address (no host names: mediasoup binds and announces addresses). */
export function ip() {
  return z.preprocess(unsetIfEmpty, z.union([z.ipv4(), z.ipv6()], { error: 'expected an IPv4 or IPv6 address' }).optional());
}

/** An absolute http(s) URL. */
export function url() {
  return z.preprocess(unsetIfEmpty, z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional());
}

/** Values never repeated in an error message: they end up in logs. */
const SECRET_NAME = /SECRET|PASSWORD|_TOKEN$/;

/** Validates `env` against `shape`; the first problems, each as `NAME: what is wrong (got "value")`. */
export function readEnv<S extends z.ZodRawShape>(shape: S, env: Env): z.infer<z.ZodObject<S>> {
  const parsed = z.object(shape).safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.slice(0, 3).map((issue) => {
    const name = String(issue.path[0] ?? '(environment)');
    const value = env[name];
    const shown = value !== undefined && !SECRET_NAME.test(name) ? ` (got ${JSON.stringify(value)})` : '';
    return `${name}: ${issue.message}${shown}`;
  });
  throw new StartupError(`configuration: ${problems.join('; ')}`);
}
