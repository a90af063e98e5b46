import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, SETTINGS } from '../../services/shared/config/config.ts';
import { ROOT } from '../support/processes.ts';
import { cxvitals } from './cli.ts';

/**
 * The README's "Running in production" section, followed as written where this machine
 * allows: every `cxvitals` command it names exists, its settings table holds real settings
 * with values cxvitals accepts, the documented `cxvitals provision --dry-run` runs with those
 * values, and every file and folder it points at exists.
 */

const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const start = readme.indexOf('## Running in production');
const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
const documentedEnv = Object.fromEntries(
  [...section.matchAll(/^\| `([A-Z_]+)` \| (.+) \|$/gm)].map(([, name, example]) => [
    name ?? '',
    /^`([^`]*)`/.exec(example ?? '')?.[1] ?? (example?.includes('secret') ? 'from-a-secret-0123456789abcdef' : ''),
  ]),
);

describe('README "Running in production"', () => {
  let help = '';
  beforeAll(async () => {
    help = (await cxvitals(['--help'])).stdout;
  });

  it('exists and names the commands of the CLI', () => {
    expect(start).toBeGreaterThan(0);
    const commands = [...new Set([...section.matchAll(/^cxvitals ([a-z]+)/gm)].map(([, c]) => c ?? ''))];
    expect(commands.sort()).toEqual(['aggregator', 'api', 'goals', 'ingest', 'provision']);
    for (const command of commands) expect(help, `cxvitals ${command}`).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    expect(section).toMatch(/npm run cxvitals -- <command>/);
  });

  it('documents the flags provision has', async () => {
    const provisionHelp = (await cxvitals(['provision', '--help'])).stdout;
    for (const flag of section.matchAll(/cxvitals provision (--[a-z-]+)/g)) expect(provisionHelp).toContain(flag[1]);
  });

  it('lists real settings with values cxvitals accepts, each printed by `cxvitals config`', async () => {
    expect(Object.keys(documentedEnv).length).toBeGreaterThanOrEqual(10);
    const table = (await cxvitals(['config'])).stdout;
    for (const name of Object.keys(documentedEnv)) {
      expect(Object.keys(SETTINGS), name).toContain(name);
      expect(table, name).toContain(`| \`${name}\` |`);
    }
    const config = loadConfig(documentedEnv);
    expect(config.kafka.mode).toBe('external');
    expect(config.clickhouse).toMatchObject({ mode: 'external', cluster: 'cxvitals' });
  });

  it('runs the documented `cxvitals provision --dry-run` with the documented settings', async () => {
    const { code, stdout, stderr } = await cxvitals(['provision', '--dry-run'], documentedEnv);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/nothing is changed/);
    expect(stdout).toMatch(/^ {2}cx\.probe\.v1 +12 +3 +604800000 +2$/m);
    expect(stdout).toMatch(/CREATE TABLE IF NOT EXISTS cxvitals\.probe_kpi_1m_local ON CLUSTER 'cxvitals'/);
  });

  it('points at files that exist', () => {
    for (const target of [
      'docs/production.md',
      'docs/sizing.md',
      'deploy/compose.yaml',
      'deploy/k8s/kustomization.yaml',
      'Dockerfile',
    ])
      expect(existsSync(path.join(ROOT, target)), target).toBe(true);
    expect(section).toContain('docker compose -f deploy/compose.yaml');
    expect(section).toContain('kubectl apply -k deploy/k8s');
    expect(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).toContain('"test:containers"');
  });
});
