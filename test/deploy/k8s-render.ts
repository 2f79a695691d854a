/**
 * Rendering of the Kubernetes overlays for the offline checks of test/deploy/k8s*.test.ts: a
 * copy of the repository's deployment files, rendered per overlay the way a reader deploys it
 * (`npm run deploy:secrets -- k8s/overlays/<o>`, then `kubectl kustomize`).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { renderDeploySecrets, repoRoot } from '@caregrid/devkit';

export type Metadata = { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: Metadata;
  spec?: unknown;
  data?: Record<string, string>;
  scopes?: string[];
};

// kubectl here is 1.32; kubernetes-validate 1.33.1 ships schemas up to 1.33.
export const KUBERNETES_VERSION = '1.32.0';
const kubernetesValidateBin = path.join(repoRoot, '.caregrid', 'venv', 'bin', 'kubernetes-validate');

/** Runs kubernetes-validate --strict on the objects; returns its complaints (empty: all valid, all known). */
export function kubernetesValidate(objects: KubeObject[], dir: string): string {
  const file = path.join(dir, `objects-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
  try {
    // --quiet prints only failures and warnings ("Couldn't find schema" for an unknown kind is a warning).
    return execFileSync(kubernetesValidateBin, ['--strict', '--quiet', '-k', KUBERNETES_VERSION, file], { encoding: 'utf8' }).trim();
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    return `${stdout ?? ''}${stderr ?? ''}`.trim() || String(error);
  }
}

export const decode = (value: string) => Buffer.from(value, 'base64').toString('utf8');

/** A self-signed CA certificate (PEM), standing for a database provider's. */
export const testCa = (name = 'provider CA') =>
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      '/dev/null',
      '-subj',
      `/CN=${name}`,
      '-days',
      '1',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );

/**
 * A fresh copy of k8s/, components/, dapr/ (and what a check asks for besides), without the
 * rendered secrets of a local deployment or a local database CA: the checks render their own.
 * The prod overlay's database CA (which its operator provides) is a test CA unless
 * `databaseCa: false`. Removed by `dispose`.
 */
export function copyDeployment(extra: string[] = [], options: { databaseCa?: boolean } = {}): { dir: string; dispose: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'caregrid-k8s-'));
  for (const sub of ['k8s', 'components', 'dapr', ...extra]) {
    cpSync(path.join(repoRoot, sub), path.join(dir, sub), {
      recursive: true,
      filter: (source) => !/[/\\](generated|secrets[/\\][^/\\]+\.env|database-ca[/\\][^/\\]+\.crt)$/.test(source),
    });
  }
  if (options.databaseCa ?? true) writeFileSync(path.join(dir, 'k8s', 'overlays', 'prod', 'database-ca', 'ca.crt'), testCa());
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export const kustomize = (dir: string): KubeObject[] =>
  parseAllDocuments(
    execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] }),
  ).map((doc) => doc.toJS() as KubeObject);

/** Renders `k8s/overlays/<overlay>` in the copy at `root` as the README says. */
export async function renderOverlay(root: string, overlay: string): Promise<KubeObject[]> {
  await renderDeploySecrets(`k8s/overlays/${overlay}`, { root });
  return kustomize(path.join(root, 'k8s', 'overlays', overlay));
}

type Step = { name?: string; run?: string; env?: Record<string, string>; uses?: string; with?: Record<string, unknown> };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Workflow = Record<string, any>;

export const readWorkflow = (root: string, name: string) =>
  parse(readFileSync(path.join(root, '.github', 'workflows', name), 'utf8')) as Workflow;

/** The step of a workflow job whose name starts with `prefix`. */
export function workflowStep(workflow: Workflow, job: string, prefix: string): Step {
  const step = (workflow.jobs[job].steps as Step[]).find((s) => s.name?.startsWith(prefix));
  if (!step) throw new Error(`no step "${prefix}…" in job ${job}`);
  return step;
}
