import { MesosError } from './errors.js';

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  ms: 1,
  secs: 1000,
  sec: 1000,
  s: 1000,
  mins: 60_000,
  min: 60_000,
  hrs: 3_600_000,
  hr: 3_600_000,
  days: 86_400_000,
  weeks: 604_800_000,
};

/**
 * Mesos's duration flag syntax (stout `Duration::parse`): a number and a unit, `10secs`, `5mins`,
 * `100ms`, `1.5hrs`, `2days`. Returns milliseconds; throws with the accepted units otherwise.
 */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/.exec(text);
  const unit = m ? UNITS[m[2]!] : undefined;
  if (!m || unit === undefined) {
    throw new MesosError('DURATION_INVALID', `Invalid duration '${text}': write a number and a unit (ns, us, ms, secs, mins, hrs, days, weeks), e.g. 15secs`);
  }
  return Number(m[1]) * unit;
}
