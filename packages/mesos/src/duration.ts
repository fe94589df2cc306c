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

/** stout's units from the smallest, in nanoseconds, with the name it prints. */
const PRINT_UNITS: [number, string][] = [
  [1, 'ns'],
  [1e3, 'us'],
  [1e6, 'ms'],
  [1e9, 'secs'],
  [6e10, 'mins'],
  [3.6e12, 'hrs'],
  [8.64e13, 'days'],
  [6.048e14, 'weeks'],
];

/**
 * A duration as Mesos prints it in messages and the environment (stout's `operator<<` on
 * `Duration`): in the largest unit it reaches, unless the next smaller unit gives a whole number
 * where this one does not: `2secs`, `500ms`, `15mins`, `1500ms`, `90secs`. Takes ms.
 */
export function formatDuration(ms: number): string {
  const ns = Math.round(Math.abs(ms) * 1e6);
  let i = PRINT_UNITS.length - 1;
  while (i > 0 && ns < PRINT_UNITS[i]![0]) i--;
  const [unit] = PRINT_UNITS[i]!;
  if (i > 0 && ns % unit !== 0 && ns % PRINT_UNITS[i - 1]![0] === 0) i--;
  const [size, name] = PRINT_UNITS[i]!;
  // stout prints with 15 significant digits.
  return `${ms < 0 ? '-' : ''}${Number((ns / size).toPrecision(15))}${name}`;
}
