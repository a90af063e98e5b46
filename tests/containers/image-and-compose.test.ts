import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DockerComposeEnvironment, GenericContainer, type StartedDockerComposeEnvironment, Wait } from 'testcontainers';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/processes.ts';
import { CONTAINER_TESTS, containerSuiteOff, requireDockerEngine } from './support.ts';

/**
 * The image (Dockerfile) and the stack (deploy/compose.yaml) for real: the image builds,
 * runs as a non-root user, answers the documented commands and its HEALTHCHECK; Compose v2
 * accepts the file (`docker compose config`, the current schema); `docker compose up` brings
 * the stack to a ready API.
 */

const IMAGE = 'cxvitals:dev';

containerSuiteOff('container image and compose stack');

describe.runIf(CONTAINER_TESTS)('container image and compose stack', () => {
  let stack: StartedDockerComposeEnvironment | undefined;
  afterAll(async () => {
    await stack?.down({ removeVolumes: true });
  });

  it('builds a non-root image whose entrypoint is cxvitals', async () => {
    await requireDockerEngine();
    const image = await GenericContainer.fromDockerfile(ROOT).build(IMAGE, { deleteOnExit: false });
    const container = await image
      .withCommand(['provision', '--dry-run', '--json'])
      .withWaitStrategy(Wait.forOneShotStartup())
      .withStartupTimeout(120_000)
      .start();
    const logs = await container.logs();
    let output = '';
    for await (const chunk of logs) output += chunk.toString();
    expect(output).toMatch(/"topic": "cx\.probe\.v1"/);
    const user = execFileSync('docker', ['image', 'inspect', IMAGE, '--format', '{{.Config.User}} {{json .Config.Entrypoint}}'], {
      encoding: 'utf8',
    });
    expect(user.trim()).toBe('node ["cxvitals"]');
  }, 900_000);

  it('is accepted by Compose v2 and comes up with a ready API', async () => {
    // A copy of deploy/ with throwaway secrets: the real ones never live in the repository.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-compose-'));
    cpSync(path.join(ROOT, 'deploy'), dir, { recursive: true });
    mkdirSync(path.join(dir, 'secrets'), { recursive: true });
    writeFileSync(
      path.join(dir, 'secrets/cxvitals.env'),
      'CLICKHOUSE_PASSWORD=compose-test\nCXV_GOALS_ADMIN_TOKEN=compose-test-admin-token-0123456789\n',
    );
    writeFileSync(path.join(dir, 'secrets/grafana.env'), 'GF_SECURITY_ADMIN_PASSWORD=compose-test\n');
    writeFileSync(path.join(dir, 'secrets/alertmanager-webhook-token'), 'compose-test');
    execFileSync('docker', ['compose', '-f', path.join(dir, 'compose.yaml'), 'config', '--quiet'], { stdio: 'inherit' });

    stack = await new DockerComposeEnvironment(dir, 'compose.yaml').withEnvironment({ CXV_IMAGE: IMAGE }).up();
    const deadline = Date.now() + 240_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = await fetch('http://127.0.0.1:8080/readyz')
        .then((r) => r.status)
        .catch(() => 0);
      if (status !== 200) await sleep(2000);
    }
    expect(status).toBe(200);
  }, 600_000);
});
