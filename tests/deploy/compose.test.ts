import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SETTINGS } from '../../services/shared/config/config.ts';
import { ROOT } from '../support/processes.ts';
import { hasCommand, requireSystem } from '../support/system.ts';

/**
 * deploy/compose.yaml against the Compose Specification schema (vendored, see
 * schemas/README.md), plus what the schema cannot know: the services' variables are real
 * cxvitals settings, secrets stay out of the file, mounted files exist, and the Prometheus
 * and Alertmanager configurations it mounts pass their own tools' checks.
 */

const DEPLOY = path.join(ROOT, 'deploy');
const compose = parse(readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, Record<string, unknown>>;
  secrets: Record<string, { file: string }>;
};
const CXVITALS_SERVICES = ['provision', 'ingest', 'aggregator', 'api', 'goals'];

/** Compose's own formats (compose-go registers the same names): Go durations, port and expose specs. */
function composeValidator() {
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat('duration', /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/);
  ajv.addFormat('ports', /^(\d{1,3}(\.\d{1,3}){3}:)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F:.]+\/\d{1,3}$/);
  // The file marks its parts with draft-04 `id` strings ("#/definitions/service"), which
  // later drafts read as schema ids; they only label, so they are dropped (as Compose's own
  // validator ignores them). A property *named* id would be an object, and stays.
  const schema = JSON.parse(readFileSync(path.join(ROOT, 'tests/deploy/schemas/compose-spec.json'), 'utf8'), (key, value) =>
    key === 'id' && typeof value === 'string' ? undefined : value,
  );
  delete schema.$schema;
  return ajv.compile(schema);
}

describe('deploy/compose.yaml', () => {
  it('is valid against the Compose Specification schema', () => {
    const validate = composeValidator();
    const valid = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('rejects a misspelt key (the schema is strict about service keys)', () => {
    const validate = composeValidator();
    expect(validate({ services: { api: { image: 'x', enviroment: {} } } })).toBe(false);
  });

  it('runs Kafka (KRaft), ClickHouse, Prometheus, Alertmanager, Grafana and every service, the aggregator twice', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'aggregator',
        'alertmanager',
        'api',
        'clickhouse',
        'goals',
        'grafana',
        'ingest',
        'kafka',
        'prometheus',
        'provision',
      ].sort(),
    );
    expect(compose.services.kafka?.environment).toMatchObject({ KAFKA_PROCESS_ROLES: 'broker,controller' });
    const aggregator = compose.services.aggregator as { deploy: { replicas: number }; environment: Record<string, string> };
    expect(aggregator.deploy.replicas).toBe(2);
    expect(aggregator.deploy.replicas).toBeLessThanOrEqual(Number(aggregator.environment.CXV_TOPIC_PARTITIONS));
  });

  it('configures the services with real cxvitals settings only, secrets from files', () => {
    for (const name of CXVITALS_SERVICES) {
      const service = compose.services[name] as { environment: Record<string, string>; env_file: string; command: string[] };
      for (const variable of Object.keys(service.environment))
        expect(Object.keys(SETTINGS), `${name}: ${variable}`).toContain(variable);
      expect(Object.keys(service.environment).filter((v) => /PASSWORD|TOKEN/.test(v))).toEqual([]);
      expect(service.env_file).toBe('./secrets/cxvitals.env');
      expect(service.command).toEqual([name]);
    }
    for (const name of CXVITALS_SERVICES.filter((n) => n !== 'provision'))
      expect(compose.services[name]?.depends_on).toEqual({ provision: { condition: 'service_completed_successfully' } });
    for (const secret of Object.values(compose.secrets)) expect(secret.file.startsWith('./secrets/')).toBe(true);
  });

  it('mounts files that exist in the repository', () => {
    const mounts = Object.values(compose.services)
      .flatMap((s) => (s.volumes as string[] | undefined) ?? [])
      .map((v) => v.split(':')[0] ?? '')
      .filter((source) => source.startsWith('./'));
    expect(mounts.sort()).toEqual(['./alertmanager', './grafana', './prometheus']);
    expect(existsSync(path.join(DEPLOY, 'prometheus/compose.prometheus.yml'))).toBe(true);
    expect(existsSync(path.join(DEPLOY, 'alertmanager/alertmanager.yml'))).toBe(true);
    const prometheus = compose.services.prometheus as { command: string[] };
    expect(prometheus.command).toContain('--config.file=/etc/prometheus/cxvitals/compose.prometheus.yml');
  });

  it('mounts a Prometheus configuration that promtool accepts, with the project rules', () => {
    if (!requireSystem('promtool', hasCommand('promtool'), 'apt-get install prometheus')) return;
    const out = execFileSync('promtool', ['check', 'config', path.join(DEPLOY, 'prometheus/compose.prometheus.yml')], {
      encoding: 'utf8',
    });
    expect(out).toMatch(/is valid prometheus config file syntax/);
    expect(out).toMatch(/goals-service\.rules\.yml/);
  });

  it('mounts an Alertmanager configuration that amtool accepts', () => {
    if (!requireSystem('amtool', hasCommand('amtool'), 'apt-get install prometheus-alertmanager')) return;
    const out = execFileSync('amtool', ['check-config', path.join(DEPLOY, 'alertmanager/alertmanager.yml')], {
      encoding: 'utf8',
    });
    expect(out).toMatch(/SUCCESS/);
    expect(out).toMatch(/3 receivers/);
  });
});
