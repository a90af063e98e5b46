/// <reference lib="dom" />

import { h } from './dom.ts';
import { formatClock } from './format.ts';
import type { GoalStripItem, GoalsSummary, ServiceData } from './types.ts';

/** The strip above the services: goal status across the board, and maintenance running now or recently. */

const GOAL_ORDER = ['off_track', 'at_risk', 'no_data', 'not_measured', 'on_track', 'missed', 'achieved'];
const GOAL_SYMBOL: Record<string, string> = {
  off_track: '✖',
  at_risk: '▲',
  no_data: '?',
  not_measured: '∅',
  on_track: '✔',
  missed: '✖',
  achieved: '★',
};

export function renderOverview(goals: GoalsSummary | null, services: ServiceData[], timeZone: string | undefined): HTMLElement[] {
  const goalBlock = h(
    'div',
    { class: 'panel goals', 'data-panel': 'goals' },
    h('h2', {}, 'Goals'),
    goals === null
      ? h('p', { class: 'muted' }, 'goal status unavailable')
      : h(
          'div',
          { class: 'chips' },
          ...GOAL_ORDER.filter((s) => (goals.counts[s] ?? 0) > 0 || s === 'on_track' || s === 'at_risk' || s === 'off_track').map(
            (s) =>
              h(
                'span',
                { class: `chip goal-${s}`, 'data-goal-status': s, 'data-value': String(goals.counts[s] ?? 0) },
                `${GOAL_SYMBOL[s] ?? ''} ${goals.counts[s] ?? 0} ${s.replace('_', ' ')}`,
              ),
          ),
        ),
    goals?.strip
      ? renderStrip(goals.strip)
      : goals?.goals.some((g) => g.status === 'at_risk' || g.status === 'off_track')
        ? h(
            'ul',
            { class: 'goal-list' },
            ...goals.goals
              .filter((g) => g.status === 'at_risk' || g.status === 'off_track')
              .slice(0, 6)
              .map((g) =>
                h(
                  'li',
                  { class: `goal-${g.status}` },
                  // Titles and trends stay behind the goals API's token (/api/v1/goals/{id}).
                  h('strong', {}, g.goalId),
                  ` ${g.status.replace('_', ' ')}: ${g.value === null ? 'no value' : g.value.toFixed(3)} vs ${g.comparator} ${g.target}`,
                ),
              ),
          )
        : null,
  );

  const now = Date.now();
  const windows = services.flatMap((s) => (s.availability?.maintenance ?? []).map((m) => ({ ...m, service: s.service })));
  const running = windows.filter((m) => Date.parse(m.start) <= now && now < Date.parse(m.end));
  const upcoming = windows.filter((m) => Date.parse(m.start) > now).sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  const recent = windows.filter((m) => Date.parse(m.end) <= now).sort((a, b) => Date.parse(b.end) - Date.parse(a.end));
  const line = (m: (typeof windows)[number]) =>
    h(
      'li',
      { 'data-maintenance': m.maintenanceId },
      `${m.service} · ${m.region ?? 'all regions'} · ${formatClock(Date.parse(m.start), timeZone)}–${formatClock(Date.parse(m.end), timeZone)} `,
      m.retroactive ? h('span', { class: 'badge retro' }, '⚠ declared after it began') : h('span', { class: 'badge' }, 'planned'),
    );
  const maintBlock = h(
    'div',
    { class: 'panel maintenance', 'data-panel': 'maintenance' },
    h('h2', {}, 'Maintenance'),
    h('p', { class: 'label' }, running.length > 0 ? 'Now' : 'Nothing running now'),
    running.length > 0 ? h('ul', { class: 'now' }, ...running.map(line)) : null,
    upcoming.length > 0 ? h('p', { class: 'label' }, 'Upcoming') : null,
    upcoming.length > 0 ? h('ul', {}, ...upcoming.slice(0, 3).map(line)) : null,
    recent.length > 0 ? h('p', { class: 'label' }, 'Recent (in range)') : null,
    recent.length > 0 ? h('ul', {}, ...recent.slice(0, 4).map(line)) : null,
  );
  return [goalBlock, maintBlock];
}

/**
 * The open cycle's goals, every one listed (no data included), worst first: status,
 * title linked to the goal's page, value against target.
 */
function renderStrip(items: readonly GoalStripItem[]): HTMLElement {
  const rank = (s: string | null) => {
    const i = GOAL_ORDER.indexOf(s ?? 'no_data');
    return i < 0 ? GOAL_ORDER.length : i;
  };
  const sorted = [...items].sort((a, b) => rank(a.status) - rank(b.status) || a.title.localeCompare(b.title));
  return h(
    'ul',
    { class: 'goal-list goal-strip', 'data-goal-strip': String(items.length) },
    ...sorted.map((g) => {
      const status = g.status ?? 'not evaluated';
      return h(
        'li',
        { class: `goal-${g.status ?? 'no_data'}`, 'data-goal-id': g.id, title: g.reason ?? '' },
        `${GOAL_SYMBOL[g.status ?? 'no_data'] ?? ''} `,
        h('a', { href: g.page, target: '_blank', rel: 'noopener' }, g.title),
        ` ${status.replace('_', ' ')}: ${g.valueText} vs ${g.targetText}`,
      );
    }),
  );
}
