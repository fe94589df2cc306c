import { appendFileSync, existsSync, readFileSync } from 'node:fs';

// Figures the suite measures, one JSON line per record, appended to the file named by
// IPPC_RELIABILITY_FIGURES (the report sets it) so that one report can sum the figures of every
// test file, each run in its own process.

/** One measured record. Counts add up across records; `recoveryMs` and `memory` are kept per record. */
export interface FigureRecord {
  /** Which part: `bad-input`, `executors`, `faults`, `churn`, `security`, `fuzz`. */
  suite: string;
  /** What was tried, e.g. the case or the fault. */
  name: string;
  cases?: number;
  faults?: number;
  leaks?: number;
  duplicates?: number;
  /** Launch/kill cycles (churn). */
  cycles?: number;
  /** Milliseconds from the fault's end (restart) to the node serving correctly again. */
  recoveryMs?: number;
  /** Resident memory of a process sampled during churn, MiB: first, last and maximum. */
  memory?: { process: string; firstMiB: number; lastMiB: number; maxMiB: number; samples: number };
  /** Free addresses of the pools before and after. */
  pool?: { before: number; after: number };
  /** Anything the record wants to say in words. */
  note?: string;
}

/** Records a figure (and returns it); without IPPC_RELIABILITY_FIGURES it is only returned. */
export function recordFigure(record: FigureRecord, file = process.env.IPPC_RELIABILITY_FIGURES): FigureRecord {
  if (file) appendFileSync(file, `${JSON.stringify(record)}\n`);
  return record;
}

export function readFigures(file: string): FigureRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as FigureRecord);
}
