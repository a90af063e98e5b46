/// <reference lib="dom" />

import { byId } from './dom.ts';
import { formatAgo, formatClock } from './format.ts';

/**
 * The live connection (server-sent events from /api/v1/live) and the freshness line in
 * the header. Two different failures are told apart on screen: the connection is lost
 * (figures may be old, the browser retries), or the connection is fine but no new window
 * has landed for `staleAfterMs` (the pipeline or its sources stopped).
 */

interface Freshness {
  serverTime?: number;
  newestWindowEnd: number | null;
  lastWrittenAt: number | null;
  staleAfterMs?: number;
}

export class LiveStatus {
  private readonly el = byId('live');
  private readonly banner = byId('stale');
  private newestWindowEnd: number | null = null;
  private staleAfterMs = 180_000;
  /** Server clock − browser clock, so a wall screen with a wrong clock still judges staleness right. */
  private skewMs = 0;
  private connected = false;
  private source: EventSource | undefined;

  constructor(
    private readonly onWindows: (services: string[]) => void,
    private readonly timeZone: string | undefined,
  ) {}

  connect(): void {
    this.source = new EventSource('/api/v1/live');
    this.source.addEventListener('open', () => {
      this.connected = true;
      document.body.dataset.live = 'open';
      this.render();
    });
    this.source.addEventListener('error', () => {
      this.connected = false;
      document.body.dataset.live = 'lost';
      this.render();
    });
    const fresh = (e: Event) => this.update(JSON.parse((e as MessageEvent<string>).data) as Freshness);
    this.source.addEventListener('hello', fresh);
    this.source.addEventListener('status', fresh);
    this.source.addEventListener('windows', (e) => {
      const landed = JSON.parse((e as MessageEvent<string>).data) as Freshness & { services: string[] };
      this.update(landed);
      document.body.dataset.liveEvents = String(Number(document.body.dataset.liveEvents ?? '0') + 1);
      this.onWindows(landed.services);
    });
    setInterval(() => this.render(), 1000);
  }

  /** Another event of the stream (e.g. `incident`), with its parsed data. */
  on(event: string, listener: (data: unknown) => void): void {
    this.source?.addEventListener(event, (e) => listener(JSON.parse((e as MessageEvent<string>).data)));
  }

  /** Newer data seen by the page itself (a refresh) also counts. */
  noteWindowEnd(ms: number): void {
    this.newestWindowEnd = Math.max(this.newestWindowEnd ?? 0, ms);
    this.render();
  }

  private update(f: Freshness): void {
    if (f.serverTime !== undefined) this.skewMs = f.serverTime - Date.now();
    if (f.staleAfterMs !== undefined) this.staleAfterMs = f.staleAfterMs;
    if (f.newestWindowEnd !== null) this.noteWindowEnd(f.newestWindowEnd);
    this.render();
  }

  private render(): void {
    const now = Date.now() + this.skewMs;
    const age = this.newestWindowEnd === null ? null : now - this.newestWindowEnd;
    const stale = age === null || age > this.staleAfterMs;
    document.body.dataset.stale = String(stale);
    const dataText =
      this.newestWindowEnd === null
        ? 'no data yet'
        : `data to ${formatClock(this.newestWindowEnd, this.timeZone)} (${formatAgo(age ?? 0)})`;
    this.el.className = `live ${this.connected ? (stale ? 'stale' : 'ok') : 'lost'}`;
    const text = this.el.querySelector('.text');
    if (text) text.textContent = `${this.connected ? 'live' : 'live connection lost, retrying'} · ${dataText}`;
    if (stale) {
      this.banner.hidden = false;
      this.banner.textContent =
        this.newestWindowEnd === null
          ? 'No windows have landed yet: figures appear when the first minute closes. If this lasts, check /healthz and the sources.'
          : `Data is stale: the newest window ended ${formatAgo(age ?? 0)} (${formatClock(this.newestWindowEnd, this.timeZone)}). Check the pipeline: /healthz, and cxv_window_newest_end_timestamp_seconds on /metrics.`;
    } else {
      this.banner.hidden = true;
    }
  }
}
