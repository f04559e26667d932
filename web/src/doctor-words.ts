import { Remediation } from '../../protocol/health.ts';
import type { HealthCause } from '../../protocol/health.ts';
import { t } from './i18n/index.ts';

/*
 * What a viewer reads on a black or frozen tile: the doctor's cause in plain words, and the repair under way,
 * from the message catalogs (`cause.*` and `repair.*`: every cause and repair has its sentence in each language).
 */

export function describeCause(cause: HealthCause, name: string): string {
  return t(`cause.${cause}`, { name });
}

export function describeRepair(repair: string | null): string | null {
  const known = Remediation.safeParse(repair);
  return known.success ? t(`repair.${known.data}`) : null;
}
