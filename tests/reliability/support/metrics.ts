import { readHeaders } from '../../support/auth.ts';
/** Samples from a cxvitals process's /metrics (Prometheus text). */

export async function scrape(url: string): Promise<string> {
  return fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000), headers: readHeaders() })
    .then((r) => r.text())
    .catch(() => '');
}

/** The value of the first sample whose name ends with `suffix` (default metrics carry the cxv_process_ prefix). */
export function sampleOf(text: string, suffix: string): number {
  const match = new RegExp(`^(\\w*${suffix})(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return Number(match?.[2] ?? Number.NaN);
}

export interface MemorySample {
  at: number;
  rss: number;
  heap: number;
}

export async function memoryOf(url: string): Promise<MemorySample> {
  const text = await scrape(url);
  return { at: Date.now(), rss: sampleOf(text, 'resident_memory_bytes'), heap: sampleOf(text, 'nodejs_heap_size_used_bytes') };
}

/** The sum of the samples of `name` whose labels include every pair of `labels`. */
export function sumOf(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
