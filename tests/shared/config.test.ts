import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../services/shared/config/config.ts';

describe('configuration', () => {
  it('nothing set means everything embedded, with the documented defaults', () => {
    const c = loadConfig({});
    expect(c.kafka.mode).toBe('embedded');
    expect(c.clickhouse.mode).toBe('embedded');
    expect(c.port).toBe(8080);
    expect(c.dataDir).toBe(path.resolve('./data'));
    expect(c.simulate).toBe(true);
    expect(c.excuseRetroactiveMaintenance).toBe(false);
  });

  it('KAFKA_BROKERS and CLICKHOUSE_URL switch to external services', () => {
    const c = loadConfig({
      KAFKA_BROKERS: 'k1:9092,k2:9092',
      CLICKHOUSE_URL: 'http://ch:8123',
      CLICKHOUSE_PASSWORD: 's',
      CXV_SIMULATE: '0',
    });
    expect(c.kafka).toMatchObject({ mode: 'external', brokers: 'k1:9092,k2:9092' });
    expect(c.clickhouse).toMatchObject({ mode: 'external', url: 'http://ch:8123', password: 's' });
    expect(c.simulate).toBe(false);
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({ CXV_PORT: 'eighty', KAFKA_BROKERS: 'no-port', CLICKHOUSE_URL: 'ftp://x', CXV_SIMULATE: 'maybe' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.map((p) => p.variable);
    expect(problems).toEqual(['CXV_PORT', 'CXV_SIMULATE', 'KAFKA_BROKERS', 'CLICKHOUSE_URL']);
    expect((error as Error).message).toContain('CXV_PORT="eighty": must be a whole number');
  });
});
