// Keeps package-lock.json complete for platforms other than this one.
//
// The npm registry reachable from these machines lacks some platform-specific optional
// packages (Biome's and chDB's non-linux-x64 builds). `npm install` then leaves them out
// of the lock, and `npm ci` refuses a lock that lacks an optional dependency. This adds
// the missing entries with their platform fields (as npm writes them elsewhere), so
// `npm ci` skips them here by os/cpu/libc and other machines resolve them normally.
// Run after `npm install`: `node scripts/lock-platforms.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const PLATFORMS = {
  'android-arm64': { os: ['android'], cpu: ['arm64'] },
  'android-x64': { os: ['android'], cpu: ['x64'] },
  'darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  'darwin-x64': { os: ['darwin'], cpu: ['x64'] },
  'linux-arm64': { os: ['linux'], cpu: ['arm64'], libc: ['glibc'] },
  'linux-arm64-gnu': { os: ['linux'], cpu: ['arm64'], libc: ['glibc'] },
  'linux-x64': { os: ['linux'], cpu: ['x64'], libc: ['glibc'] },
  'linux-x64-gnu': { os: ['linux'], cpu: ['x64'], libc: ['glibc'] },
  'linux-arm64-musl': { os: ['linux'], cpu: ['arm64'], libc: ['musl'] },
  'linux-x64-musl': { os: ['linux'], cpu: ['x64'], libc: ['musl'] },
  'win32-arm64': { os: ['win32'], cpu: ['arm64'] },
  'win32-x64': { os: ['win32'], cpu: ['x64'] },
};

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
let added = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${dep}`;
    if (lock.packages[key]) continue;
    const suffix = Object.keys(PLATFORMS)
      .sort((a, b) => b.length - a.length)
      .find((p) => dep.endsWith(p));
    if (!suffix) throw new Error(`${path} needs optional ${dep}, whose platform this script does not know`);
    lock.packages[key] = { version, ...PLATFORMS[suffix], optional: true, ...(entry.dev ? { dev: true } : {}) };
    added += 1;
  }
}
const sorted = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
lock.packages = sorted;
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lock-platforms: added ${added} optional platform entr${added === 1 ? 'y' : 'ies'}`);
