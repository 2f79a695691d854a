/**
 * Every Dapr resource under components/ and dapr/ must be valid against the
 * CRD schemas shipped in the dapr module daprd is built from, and dapr.yaml
 * against the Dapr CLI's run-file fields. Unknown fields are errors (the API
 * server would silently prune them).
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { generateSigningKey, loadDaprSchemas, loadRunFile, parseRunFile, repoRoot, writeGeneratedResources } from '@caregrid/devkit';

type Json = Record<string, unknown>;

const schemas = loadDaprSchemas();
const validate = (resource: Json) => schemas.validate(resource);

/** Dapr resource files: not the run file, not the kustomize entry points (k8s/base uses them). */
function resourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return resourceFiles(full);
    return entry.name.endsWith('.yaml') && !['dapr.yaml', 'kustomization.yaml'].includes(entry.name) ? [full] : [];
  });
}

const resources = [...resourceFiles(path.join(repoRoot, 'components')), ...resourceFiles(path.join(repoRoot, 'dapr'))].flatMap((file) =>
  parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => ({ file: path.relative(repoRoot, file), resource: doc.toJS() as Json })),
);

describe('Dapr resources', () => {
  it('found the CRD schemas and the resources', () => {
    expect(schemas.kinds.length).toBeGreaterThanOrEqual(5);
    expect(resources.map((r) => r.resource.kind)).toEqual(expect.arrayContaining(['Component', 'Configuration', 'Resiliency']));
  });

  it.each(resources.map((r) => [r.file, r.resource] as const))('%s is valid against its CRD', (_file, resource) => {
    expect(validate(resource)).toEqual([]);
  });

  it('the check rejects a misspelled field and a wrong type', () => {
    const component = structuredClone(resources.find((r) => r.resource.kind === 'Component')!.resource) as Json & { spec: Json };
    component.spec.metdata = [];
    component.spec.version = 1;
    expect(validate(component)).toEqual(
      expect.arrayContaining([expect.stringContaining('additional properties'), expect.stringContaining('must be string')]),
    );
  });

  it('every component is scoped, and names referenced elsewhere exist', async () => {
    const { generated } = await renderGenerated();
    const components = [...resources, ...generated.map((resource) => ({ file: 'generated', resource }))].filter(
      (r) => r.resource.kind === 'Component',
    );
    for (const { file, resource } of components) {
      expect([file, Array.isArray(resource.scopes) && (resource.scopes as unknown[]).length > 0]).toEqual([file, true]);
    }
    const names = new Set(components.map((r) => (r.resource.metadata as Json).name));
    const pipelines = resources
      .filter((r) => r.resource.kind === 'Configuration')
      .flatMap((r) => ((r.resource.spec as Json).httpPipeline as { handlers: { name: string }[] } | undefined)?.handlers ?? []);
    for (const handler of pipelines) expect(names).toContain(handler.name);
    for (const r of resources.filter((x) => x.resource.kind === 'Resiliency')) {
      const targets = ((r.resource.spec as Json).targets as { components?: Json }).components ?? {};
      for (const name of Object.keys(targets)) expect(names).toContain(name);
    }
  });
});

/** What `npm run dev` renders into .caregrid/generated from the signing keys. */
async function renderGenerated() {
  const dir = mkdtempSync(path.join(tmpdir(), 'generated-'));
  const key = await generateSigningKey();
  writeGeneratedResources({ 'auth-service': { signingKeys: JSON.stringify([key]) } }, path.join(dir, 'resources'), path.join(dir, 'keys'));
  const generated = resourceFiles(path.join(dir, 'resources')).map(
    (file) => parseAllDocuments(readFileSync(file, 'utf8'))[0]!.toJS() as Json,
  );
  return { key, generated };
}

describe('generated resources (from the signing keys)', () => {
  it('the gateway policy and the key store are valid components, the policy carries only public keys', async () => {
    const { key, generated } = await renderGenerated();
    expect(generated.map((r) => (r.metadata as Json).name).sort()).toEqual(['auth-keys', 'jwt-auth']);
    for (const resource of generated) expect(validate(resource)).toEqual([]);
    const rego = (
      (generated.find((r) => (r.metadata as Json).name === 'jwt-auth')!.spec as Json).metadata as { name: string; value: string }[]
    ).find((m) => m.name === 'rego')!.value;
    expect(rego).toContain(key.x);
    expect(rego).not.toContain(key.d);
    expect(rego).not.toMatch(/__[A-Z_]+__/);
    // The access model's tables are in: e.g. only staff may record a payment.
    expect(rego).toContain('"path": "^/appointments/[^/]+/payment$"');
  });
});

describe('name resolution', () => {
  it('keeps the sqlite resolver garbage collector out of reach (it deletes live registrations)', () => {
    const configurations = resources.filter((r) => r.resource.kind === 'Configuration');
    expect(configurations.length).toBeGreaterThan(0);
    for (const { resource } of configurations) {
      const nameResolution = (resource.spec as Json).nameResolution as { component: string; configuration: Record<string, string> };
      if (nameResolution?.component !== 'sqlite') continue;
      expect(nameResolution.configuration.cleanupInterval).toBe('8760h');
    }
  });

  it('renews sqlite registrations at least two seconds before lookups would take them for stale', () => {
    const seconds = (duration: string) => Number(/^(\d+)s$/.exec(duration)?.[1] ?? NaN);
    for (const { resource } of resources.filter((r) => r.resource.kind === 'Configuration')) {
      const nameResolution = (resource.spec as Json).nameResolution as { component: string; configuration: Record<string, string> };
      if (nameResolution?.component !== 'sqlite') continue;
      const interval = seconds(nameResolution.configuration.updateInterval!);
      const timeout = seconds(nameResolution.configuration.timeout ?? '1s');
      const renewEvery = interval - timeout;
      expect(renewEvery).toBeGreaterThanOrEqual(1); // the resolver refuses less
      // A row is stale once floor(now) - floor(renewed) reaches the interval: up to 1 s is lost to rounding.
      expect(interval - renewEvery - 1).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('dapr/dapr.yaml', () => {
  const runFile = path.join(repoRoot, 'dapr', 'dapr.yaml');

  it('is a valid run file whose apps are real services with existing resources', () => {
    const apps = loadRunFile(runFile);
    for (const app of apps) {
      expect(path.relative(repoRoot, app.appDir)).toBe(path.join('services', app.appId));
      expect(readdirSync(app.appDir)).toContain('package.json');
    }
    const text = readFileSync(runFile, 'utf8');
    const common = parseRunFile(text, runFile).common!;
    for (const dir of common.resourcesPaths!) expect(readdirSync(path.resolve(path.dirname(runFile), dir)).length).toBeGreaterThan(0);
    expect(readFileSync(path.resolve(path.dirname(runFile), common.configFilePath!), 'utf8')).toContain('kind: Configuration');
  });

  it('the run-file check rejects fields the Dapr CLI does not know', () => {
    expect(() =>
      parseRunFile(
        'version: 1\napps:\n  - appID: a\n    appDirPath: x\n    appPort: 1\n    command: [node]\n    appPorts: 2\n',
        'bad.yaml',
      ),
    ).toThrow(/appPorts|Unrecognized key/);
    expect(() => parseRunFile('version: 2\napps: []\n', 'bad.yaml')).toThrow(/version/);
  });
});
