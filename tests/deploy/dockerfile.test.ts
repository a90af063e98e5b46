import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/processes.ts';

/**
 * The Dockerfile, read statically (no Docker engine here; tests/containers builds it where
 * one exists): two stages, a non-root runtime with a liveness HEALTHCHECK and `cxvitals` as
 * entrypoint, every copied path present and not excluded by .dockerignore.
 */

const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

describe('Dockerfile', () => {
  it('builds in one stage and runs from a slim one as a non-root user', () => {
    expect(instructions.filter((l) => l.startsWith('FROM ')).map((l) => l.split(' AS ')[1])).toEqual(['build', 'runtime']);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(instructions.find((l) => l.startsWith('RUN apt-get') && l.includes('g++'))).toMatch(/python3 make g\+\+/);
    const runtime = instructions.slice(instructions.findIndex((l) => l.startsWith('FROM ') && l.endsWith(' AS runtime')));
    expect(runtime.some((l) => l.includes('g++'))).toBe(false);
    expect(runtime.filter((l) => l.startsWith('USER '))).toEqual(['USER node']);
    expect(runtime.find((l) => l.startsWith('HEALTHCHECK'))).toMatch(/\/livez/);
    expect(runtime.find((l) => l.startsWith('ENTRYPOINT'))).toBe('ENTRYPOINT ["cxvitals"]');
  });

  it('copies paths that exist and that .dockerignore lets through', () => {
    const copied = instructions
      .filter((l) => l.startsWith('COPY ') && !l.includes('--from='))
      .flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(copied.sort()).toEqual(
      ['package-lock.json', 'package.json', 'package-lock.json', 'package.json', 'schemas', 'services', 'sql'].sort(),
    );
    for (const source of copied) {
      expect(existsSync(path.join(ROOT, source)), source).toBe(true);
      expect(ignored, source).not.toContain(source);
    }
  });

  it('keeps local state, secrets and the dependency tree out of the build context', () => {
    for (const entry of ['.git', 'node_modules', 'data', 'tests', '**/*.env']) expect(ignored).toContain(entry);
  });
});
