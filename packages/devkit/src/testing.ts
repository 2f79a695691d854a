import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { startSidecar, type RunningSidecar } from './daprd.js';
import { logsDir, repoRoot } from './paths.js';
import { dropDatabase, provisionDatabase, type DatabaseEngine } from './provision.js';

/** A name no other test file (or earlier run) uses: topics, app-ids, databases. */
export const uniqueName = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A database of its own for one test file, on the real local server. */
export async function freshDatabase(engine: DatabaseEngine, label: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `t_${label}_${randomBytes(4).toString('hex')}`.replace(/-/g, '_');
  const url = await provisionDatabase(engine, name);
  return { url, drop: () => dropDatabase(engine, name) };
}

/**
 * A resources directory for test sidecars made from the real files under
 * components/ and dapr/resources/, with `scopes` pointed at the test's
 * app-ids; extra resources (e.g. a Subscription) are added as given.
 */
export function renderResources(options: {
  components: string[];
  scopes: string[];
  extra?: Record<string, unknown>[];
  secrets?: Record<string, Record<string, string>>;
}): { dir: string; secretsFile: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'caregrid-resources-'));
  const documents: unknown[] = [];
  for (const file of options.components) {
    for (const doc of parseAllDocuments(readFileSync(path.join(repoRoot, file), 'utf8'))) {
      const resource = doc.toJS() as Record<string, unknown>;
      if ('scopes' in resource) resource.scopes = options.scopes;
      documents.push(resource);
    }
  }
  documents.push(...(options.extra ?? []));
  documents.forEach((resource, index) => writeFileSync(path.join(dir, `${index}.yaml`), stringify(resource)));
  const secretsFile = path.join(dir, 'secrets', 'secrets.json');
  mkdirSync(path.dirname(secretsFile), { recursive: true });
  writeFileSync(secretsFile, JSON.stringify(options.secrets ?? {}), { mode: 0o600 });
  return { dir, secretsFile };
}

export async function startTestSidecar(options: {
  appId: string;
  appPort: number;
  resourcesDir: string;
  secretsFile: string;
  configFile?: string;
}): Promise<RunningSidecar> {
  const sidecar = startSidecar({
    appId: options.appId,
    appPort: options.appPort,
    daprHttpPort: await freePort(),
    daprGrpcPort: await freePort(),
    metricsPort: await freePort(),
    resourcesPaths: [options.resourcesDir],
    configFile: options.configFile ?? path.join(repoRoot, 'dapr', 'config', 'caregrid.yaml'),
    env: { CAREGRID_SECRETS_FILE: options.secretsFile },
    logFile: path.join(logsDir, 'tests', `${options.appId}-daprd.log`),
  });
  await sidecar.waitReady();
  return sidecar;
}
