import type { MaintenanceWindow } from '../shared/kpi/availability.ts';

/**
 * Known maintenance windows per service. The newest declaration of an id wins
 * (by declaredAt, then by arrival), so a corrected declaration replaces the old one.
 */
export class MaintenanceRegistry {
  private readonly byId = new Map<string, MaintenanceWindow>();
  private readonly byService = new Map<string, Map<string, MaintenanceWindow>>();

  /** Returns the window now in force for that id, and the one it replaced (if any). */
  upsert(m: MaintenanceWindow): { current: MaintenanceWindow; replaced: MaintenanceWindow | undefined; changed: boolean } {
    const previous = this.byId.get(m.maintenanceId);
    if (previous && previous.declaredAtMs > m.declaredAtMs) return { current: previous, replaced: undefined, changed: false };
    if (previous) this.byService.get(previous.service)?.delete(m.maintenanceId);
    this.byId.set(m.maintenanceId, m);
    let forService = this.byService.get(m.service);
    if (!forService) {
      forService = new Map();
      this.byService.set(m.service, forService);
    }
    forService.set(m.maintenanceId, m);
    const changed =
      !previous ||
      previous.startMs !== m.startMs ||
      previous.endMs !== m.endMs ||
      previous.declaredAtMs !== m.declaredAtMs ||
      previous.region !== m.region ||
      previous.service !== m.service;
    return { current: m, replaced: previous, changed };
  }

  forService(service: string): Iterable<MaintenanceWindow> {
    return this.byService.get(service)?.values() ?? [];
  }

  get size(): number {
    return this.byId.size;
  }
}
