import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { planTopics } from '../../services/provision/topics.ts';
import { loadConfig, SETTINGS } from '../../services/shared/config/config.ts';
import { ROOT } from '../support/processes.ts';
import { hasCommand, requireSystem } from '../support/system.ts';

/**
 * deploy/k8s rendered as `kubectl apply -k` would (kubectl's built-in kustomize), then checked:
 *  - every object against the Kubernetes API schema, with the validators of the npm package
 *    `kubernetes-models` (generated from the Kubernetes OpenAPI document);
 *  - unknown fields (a misspelt `readinessProbe` passes a schema that allows extra keys):
 *    every object type-checked against the same package's TypeScript interfaces, whose
 *    excess-property checks reject any field the API does not define;
 *  - what a schema cannot know: probes, resources, config values cxvitals accepts,
 *    aggregator replicas within the partition count, selectors that match.
 */

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: Array<{ name: string; containerPort: number }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  startupProbe?: { httpGet: { path: string } };
  livenessProbe?: { httpGet: { path: string } };
  readinessProbe?: { httpGet: { path: string } };
}
interface PodSpec {
  containers: Container[];
  securityContext?: { runAsNonRoot?: boolean };
}
interface Workload extends K8sObject {
  spec: {
    replicas?: number;
    selector?: { matchLabels: Record<string, string> };
    strategy?: { type?: string };
    template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
  };
}

/** `kubernetes-models/<group>/<version>/<Kind>` for an object's apiVersion and kind. */
const modelPath = (o: K8sObject) => `kubernetes-models/${o.apiVersion}/${o.kind}`;

let objects: K8sObject[] = [];
const byKind = <T extends K8sObject = K8sObject>(kind: string) => objects.filter((o) => o.kind === kind) as T[];
const deployment = (name: string) => byKind<Workload>('Deployment').find((d) => d.metadata.name === `cxvitals-${name}`);

describe('deploy/k8s (kustomize)', () => {
  let rendered = false;
  beforeAll(() => {
    if (
      !requireSystem(
        'kubectl (its built-in kustomize renders deploy/k8s)',
        hasCommand('kubectl', ['version', '--client']),
        'install kubectl',
      )
    )
      return;
    const yamlText = execFileSync('kubectl', ['kustomize', path.join(ROOT, 'deploy/k8s')], { encoding: 'utf8' });
    objects = parseAllDocuments(yamlText).map((d) => d.toJS() as K8sObject);
    rendered = true;
  });

  it('renders the namespace, config, the four services, the provision Job, HPA, PDBs and a NetworkPolicy', () => {
    if (!rendered) return;
    // The generated ConfigMap's name ends in a content hash.
    const names = objects.map(
      (o) => `${o.kind}/${o.kind === 'ConfigMap' ? o.metadata.name.replace(/-[a-z0-9]{10}$/, '') : o.metadata.name}`,
    );
    expect(names.sort()).toEqual(
      [
        'ConfigMap/cxvitals-config',
        'Deployment/cxvitals-aggregator',
        'Deployment/cxvitals-api',
        'Deployment/cxvitals-goals',
        'Deployment/cxvitals-ingest',
        'HorizontalPodAutoscaler/cxvitals-ingest',
        'Job/cxvitals-provision',
        'Namespace/cxvitals',
        'NetworkPolicy/cxvitals-internal-only',
        'PodDisruptionBudget/cxvitals-aggregator',
        'PodDisruptionBudget/cxvitals-api',
        'PodDisruptionBudget/cxvitals-ingest',
        'Service/cxvitals-api',
        'Service/cxvitals-goals',
        'Service/cxvitals-ingest',
      ].sort(),
    );
  });

  it('is valid against the Kubernetes API schema (kubernetes-models validators)', async () => {
    if (!rendered) return;
    for (const o of objects) {
      const module = (await import(modelPath(o))) as Record<string, new (data: unknown) => { validate(): void }>;
      const Model = module[o.kind];
      expect(Model, `${modelPath(o)} exports ${o.kind}`).toBeDefined();
      if (Model) expect(() => new Model(o).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow();
    }
  });

  it('has no field the Kubernetes API does not define (type-checked against the model interfaces)', () => {
    if (!rendered) return;
    const diagnostics = typeCheck(objects);
    expect(diagnostics).toEqual([]);
    // And the check does catch a misspelt field:
    const broken = structuredClone(deployment('api')) as Workload;
    (broken.spec.template.spec.containers[0] as unknown as Record<string, unknown>).readinesProbe = {};
    expect(typeCheck([broken]).join('\n')).toMatch(/readinesProbe/);
  }, 60_000);

  it('gives every service liveness, readiness and startup probes, resources and a non-root pod', () => {
    if (!rendered) return;
    for (const d of byKind<Workload>('Deployment')) {
      const [container] = d.spec.template.spec.containers;
      expect(container?.image).toBe('cxvitals:0.1.0');
      expect(container?.livenessProbe?.httpGet.path).toBe('/livez');
      expect(container?.startupProbe?.httpGet.path).toBe('/livez');
      expect(container?.readinessProbe?.httpGet.path).toBe('/readyz');
      expect(Object.keys(container?.resources?.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
      expect(container?.resources?.limits?.memory).toBeDefined();
      expect(d.spec.template.spec.securityContext?.runAsNonRoot).toBe(true);
      expect(container?.args).toEqual([d.metadata.name.replace('cxvitals-', '')]);
      expect(d.spec.selector?.matchLabels).toEqual(
        Object.fromEntries(
          Object.entries(d.spec.template.metadata?.labels ?? {}).filter(([k]) => k !== 'app.kubernetes.io/part-of'),
        ),
      );
    }
  });

  it('configures with values cxvitals accepts, and reads the generated ConfigMap and the Secret', () => {
    if (!rendered) return;
    const [configMap] = byKind('ConfigMap');
    const data = configMap?.data ?? {};
    for (const key of Object.keys(data)) expect(Object.keys(SETTINGS)).toContain(key);
    // Passwords and CAs are files of the Secret cxvitals-transport, mounted by every workload;
    // here the same variables point at stand-ins, once the manifests are shown to mount them.
    const mounted = '/etc/cxvitals/transport/';
    const fileSettings = ['KAFKA_SSL_CA_FILE', 'KAFKA_SASL_PASSWORD_FILE', 'CLICKHOUSE_CA_FILE', 'CLICKHOUSE_PASSWORD_FILE'];
    for (const key of fileSettings) expect(data[key], key).toMatch(new RegExp(`^${mounted}[a-z.-]+$`));
    for (const w of [...byKind<Workload>('Deployment'), ...byKind<Workload>('Job')]) {
      const spec = w.spec.template.spec as unknown as {
        containers: Array<{ volumeMounts?: Array<{ name: string; mountPath: string }> }>;
        volumes?: Array<{ name: string; secret?: { secretName: string } }>;
      };
      const mount = spec.containers[0]?.volumeMounts?.find((m) => `${m.mountPath}/` === mounted);
      expect(spec.volumes?.find((v) => v.name === mount?.name)?.secret?.secretName, w.metadata.name).toBe('cxvitals-transport');
    }
    const standIn = mkdtempSync(path.join(os.tmpdir(), 'cxv-k8s-'));
    const files = Object.fromEntries(
      fileSettings.map((key) => {
        const file = path.join(standIn, path.basename(data[key] ?? key));
        writeFileSync(file, 'stand-in\n');
        return [key, file];
      }),
    );
    const config = loadConfig({ ...data, ...files });
    expect(config.clickhouse.cluster).toBe('cxvitals');
    expect(config.clickhouse.password).toBe('stand-in');
    expect(config.clickhouse.tls).toEqual({ caFile: files.CLICKHOUSE_CA_FILE });
    expect(config.kafka.security).toEqual({
      protocol: 'sasl_ssl',
      caFile: files.KAFKA_SSL_CA_FILE,
      sasl: { mechanism: 'scram-sha-512', username: 'cxvitals', password: 'stand-in' },
    });
    expect(() => planTopics(config.topics)).not.toThrow();
    const secretKeys = readFileSync(path.join(ROOT, 'deploy/k8s/secret.example.env'), 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => l.slice(0, l.indexOf('=')));
    expect(secretKeys.sort()).toEqual(['CXV_GOALS_ADMIN_TOKEN', 'CXV_INGEST_TOKENS', 'CXV_READ_TOKENS']);
    for (const key of secretKeys) expect(data[key], `${key} belongs in the Secret`).toBeUndefined();
    for (const w of [...byKind<Workload>('Deployment'), ...byKind<Workload>('Job')]) {
      expect(w.spec.template.spec.containers[0]?.envFrom).toEqual([
        { configMapRef: { name: configMap?.metadata.name } },
        { secretRef: { name: 'cxvitals-secrets' } },
      ]);
    }
  });

  it('keeps aggregator replicas within the partition count, autoscales ingest only, runs one goals writer', () => {
    if (!rendered) return;
    const partitions = Number(byKind('ConfigMap')[0]?.data?.CXV_TOPIC_PARTITIONS);
    expect(deployment('aggregator')?.spec.replicas).toBeLessThanOrEqual(partitions);
    const hpas = byKind('HorizontalPodAutoscaler');
    expect(hpas.map((h) => (h.spec?.scaleTargetRef as { name: string } | undefined)?.name)).toEqual(['cxvitals-ingest']);
    expect(deployment('goals')?.spec.replicas).toBe(1);
    expect(deployment('goals')?.spec.strategy?.type).toBe('Recreate');
    expect(byKind<Workload>('Job')[0]?.spec.template.spec.containers[0]?.args).toEqual(['provision']);
  });

  it('routes each Service to its Deployment on the named http port', () => {
    if (!rendered) return;
    for (const service of byKind('Service')) {
      const selector = service.spec?.selector as Record<string, string>;
      const target = byKind<Workload>('Deployment').filter((d) =>
        Object.entries(selector).every(([k, v]) => d.spec.template.metadata?.labels?.[k] === v),
      );
      expect(target.map((d) => d.metadata.name)).toEqual([service.metadata.name]);
      expect(target[0]?.spec.template.spec.containers[0]?.ports?.map((p) => p.name)).toContain('http');
    }
  });

  it('points config.env at the Services the Strimzi and Altinity examples create', () => {
    if (!rendered) return;
    const data = byKind('ConfigMap')[0]?.data ?? {};
    const operators = (file: string) =>
      parseAllDocuments(readFileSync(path.join(ROOT, 'deploy/k8s/operators', file), 'utf8')).map((d) => d.toJS() as K8sObject);
    const kafka = operators('strimzi-kafka.yaml').find((o) => o.kind === 'Kafka');
    // The TLS listener with SCRAM, which config.env's KAFKA_SECURITY_PROTOCOL=sasl_ssl speaks.
    const listeners = (
      kafka?.spec?.kafka as { listeners?: Array<{ port: number; tls: boolean; authentication?: { type: string } }> }
    )?.listeners;
    expect(listeners).toEqual([expect.objectContaining({ port: 9093, tls: true, authentication: { type: 'scram-sha-512' } })]);
    expect(data.KAFKA_BROKERS).toBe(`${kafka?.metadata.name}-kafka-bootstrap.kafka.svc:9093`);
    expect(data.KAFKA_SASL_MECHANISM?.toLowerCase()).toBe('scram-sha-512');
    const chi = operators('clickhouse-installation.yaml').find((o) => o.kind === 'ClickHouseInstallation');
    expect(data.CLICKHOUSE_URL).toBe(`https://clickhouse-${chi?.metadata.name}.clickhouse.svc:8443`);
    expect((chi?.spec?.configuration as { settings?: Record<string, unknown> })?.settings?.https_port).toBe(8443);
    const configuration = chi?.spec?.configuration as { clusters?: Array<{ name: string }> } | undefined;
    const clusters = (configuration?.clusters ?? []).map((c) => c.name);
    expect(clusters).toEqual([data.CLICKHOUSE_CLUSTER]);
  });
});

/** Type-checks objects as `satisfies I<Kind>` literals; returns the compiler's complaints. */
function typeCheck(list: K8sObject[]): string[] {
  // Inside the project (git-ignored .tmp/), so the import resolves to its node_modules.
  mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
  const dir = mkdtempSync(path.join(ROOT, '.tmp', 'k8s-check-'));
  try {
    const file = path.join(dir, 'manifests.ts');
    const lines = list.map((o, i) => `import type { I${o.kind} as T${i} } from '${modelPath(o)}';`);
    lines.push(...list.map((o, i) => `export const m${i} = ${JSON.stringify(o, null, 2)} satisfies T${i};`));
    writeFileSync(file, `${lines.join('\n')}\n`);
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      types: [],
    });
    return ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
      .filter((m) => m !== '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
