import { writeFile } from 'node:fs/promises';
import { alertRulesYaml } from '../../services/goals/alerts.ts';
import { GOAL_FIXTURE_FILE, GOAL_FIXTURES } from './goal-fixtures.ts';

/** Rewrites deploy/prometheus/tests/fixtures/goals.rules.yml from the goals service's generator. */
await writeFile(GOAL_FIXTURE_FILE, alertRulesYaml(GOAL_FIXTURES));
process.stdout.write(`wrote ${GOAL_FIXTURE_FILE.pathname}\n`);
