import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './processes.ts';
import { requireSystem } from './system.ts';

/**
 * Where the real data files of the tests are. The two the project may redistribute
 * (CC BY-SA 4.0 and CC0) are in the repository, in tests/fixtures/real. The two whose
 * redistributions state no licence live outside it: in CXV_REAL_DATA_DIR, by default
 * ../shared/data/real beside the repository. A test of one of those skips with the reason
 * on a developer machine that lacks it and fails under CI=true (requireSystem), so CI
 * always exercises every real file.
 */

export const SHIPPED_REAL_DATA = path.join(ROOT, 'tests/fixtures/real');

export const SHIPPED_FILES = ['starlink-ping.csv', 'retail-nps-survey.csv'] as const;
export const UNSHIPPABLE_FILES = ['bank-callcenter-1999-08-01.csv', 'comcast-complaints-2015.csv'] as const;
export type RealFile = (typeof SHIPPED_FILES)[number] | (typeof UNSHIPPABLE_FILES)[number];

export function externalRealDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.CXV_REAL_DATA_DIR?.trim();
  return configured ? path.resolve(configured) : path.resolve(ROOT, '../shared/data/real');
}

const isShipped = (file: RealFile) => (SHIPPED_FILES as readonly string[]).includes(file);
const location = (file: RealFile) => path.join(isShipped(file) ? SHIPPED_REAL_DATA : externalRealDataDir(), file);
const howToGet = (file: RealFile) =>
  `set CXV_REAL_DATA_DIR to the folder that holds ${file} (not shipped: its source states no licence; see tests/fixtures/real/README.md)`;

/**
 * Whether the tests of a real file run. A missing unshippable file on a developer machine:
 * false, with the reason on stderr. Under CI=true a missing file still runs its tests, and
 * they fail where they read it (realFilePath), so CI can never pass by skipping.
 */
export function runsWithRealFile(file: RealFile): boolean {
  if (isShipped(file) || existsSync(location(file))) return true;
  if (process.env.CI === 'true' || process.env.CI === '1') return true;
  return requireSystem(`real data file ${location(file)}`, false, howToGet(file));
}

/** The full path of a real file; throws, naming where to put it, when it is missing. */
export function realFilePath(file: RealFile): string {
  const full = location(file);
  if (existsSync(full)) return full;
  requireSystem(`real data file ${full}`, false, howToGet(file));
  throw new Error(`real data file ${full} is missing: ${howToGet(file)}`);
}
