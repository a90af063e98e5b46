import type { AlertGoal } from '../../services/goals/alerts.ts';

/**
 * The goals whose generated rules deploy/prometheus/tests/goals.test.yml exercises. The
 * rule file beside it (fixtures/goals.rules.yml) is the goals service's own output for
 * these goals; rules.test.ts checks it still is, so the promtool tests cannot drift from
 * the generator. Regenerate with:
 *
 *   npx tsx tests/prometheus/write-goal-fixture.ts
 */
export const GOAL_FIXTURES: AlertGoal[] = [
  {
    id: 'dg-demo-availability',
    kind: 'department',
    title: 'Broadband north availability 99.9% this quarter',
    ratio: true,
    comparator: '>=',
    target: 0.999,
    periodLengthMs: 90 * 86_400_000,
    calendar: true,
  },
];

export const GOAL_FIXTURE_FILE = new URL('../../deploy/prometheus/tests/fixtures/goals.rules.yml', import.meta.url);
