/**
 * Pod Security Admission "restricted" (https://kubernetes.io/docs/concepts/security/pod-security-standards/),
 * which the caregrid namespace enforces, checked on the rendered overlays: every pod template's
 * own containers, and the daprd container the Dapr injector (1.18) adds to each Dapr pod, as it
 * builds it from the pod's annotations and the control plane's settings in the e2e's
 * `dapr init -k` (pkg/injector/patcher/sidecar_container.go: allowPrivilegeEscalation false,
 * runAsNonRoot and a read-only root by default, the seccomp profile of
 * dapr.io/sidecar-seccomp-profile-type, all capabilities dropped only with
 * dapr_sidecar_injector.sidecarDropALLCapabilities).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '@caregrid/devkit';
import { copyDeployment, type KubeObject, renderOverlay } from './k8s-render.js';

type SecurityContext = {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  seccompProfile?: { type: string };
  capabilities?: { drop?: string[]; add?: string[] };
};
type Container = { name: string; securityContext?: SecurityContext; ports?: { hostPort?: number }[] };
type PodSpec = {
  securityContext?: SecurityContext;
  containers: Container[];
  initContainers?: Container[];
  volumes?: Record<string, unknown>[];
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
};
type Workload = KubeObject & {
  spec: {
    template?: { metadata?: { annotations?: Record<string, string> }; spec: PodSpec };
    jobTemplate?: { spec: { template: { spec: PodSpec } } };
  };
};

const ALLOWED_VOLUMES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

/** The control plane's injector settings: the `--set` values of the e2e's `dapr init -k`. */
function injectorSettings(): Record<string, string> {
  const e2e = parse(readFileSync(path.join(repoRoot, '.github', 'workflows', 'k8s-e2e.yml'), 'utf8')) as {
    jobs: { e2e: { steps: { run?: string }[] } };
  };
  const init = e2e.jobs.e2e.steps.map((s) => s.run ?? '').find((run) => run.includes('dapr init -k'))!;
  return Object.fromEntries([...init.matchAll(/--set (\S+?)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
}

/** The daprd container's securityContext as the 1.18 injector writes it (Linux pods). */
function injectedSidecar(annotations: Record<string, string>, settings: Record<string, string>): Container {
  const securityContext: SecurityContext = {
    allowPrivilegeEscalation: false,
    runAsNonRoot: settings['dapr_sidecar_injector.sidecarRunAsNonRoot'] !== 'false',
  };
  const seccomp = annotations['dapr.io/sidecar-seccomp-profile-type'];
  if (seccomp) securityContext.seccompProfile = { type: seccomp };
  if (settings['dapr_sidecar_injector.sidecarDropALLCapabilities'] === 'true') securityContext.capabilities = { drop: ['ALL'] };
  return { name: 'daprd', securityContext };
}

/** What the restricted profile refuses in one pod spec (empty: admitted). */
function violations(pod: PodSpec): string[] {
  const found: string[] = [];
  const podContext = pod.securityContext ?? {};
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) found.push('host namespaces');
  for (const volume of pod.volumes ?? []) {
    const type = Object.keys(volume).find((k) => k !== 'name')!;
    if (!ALLOWED_VOLUMES.has(type)) found.push(`volume ${String(volume.name)}: ${type}`);
  }
  if (podContext.runAsUser === 0) found.push('pod runAsUser 0');
  const podSeccomp = podContext.seccompProfile?.type;
  if (podSeccomp && !['RuntimeDefault', 'Localhost'].includes(podSeccomp)) found.push(`pod seccomp ${podSeccomp}`);
  for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
    const context = container.securityContext ?? {};
    const where = `container ${container.name}`;
    if (context.privileged) found.push(`${where}: privileged`);
    if (context.allowPrivilegeEscalation !== false) found.push(`${where}: allowPrivilegeEscalation not false`);
    if ((context.runAsNonRoot ?? podContext.runAsNonRoot) !== true) found.push(`${where}: runAsNonRoot not true`);
    if (context.runAsUser === 0) found.push(`${where}: runAsUser 0`);
    const seccomp = context.seccompProfile?.type ?? podSeccomp;
    if (!seccomp || !['RuntimeDefault', 'Localhost'].includes(seccomp)) found.push(`${where}: seccomp ${seccomp ?? 'unset'}`);
    if (!context.capabilities?.drop?.includes('ALL')) found.push(`${where}: capabilities not dropped (ALL)`);
    if ((context.capabilities?.add ?? []).some((c) => c !== 'NET_BIND_SERVICE')) found.push(`${where}: capabilities added`);
    if ((container.ports ?? []).some((p) => p.hostPort)) found.push(`${where}: hostPort`);
  }
  return found;
}

const { dir, dispose } = copyDeployment(['.github']);
afterAll(dispose);

describe('Pod Security "restricted"', () => {
  it('is enforced on the caregrid namespace', () => {
    const namespace = parse(readFileSync(path.join(repoRoot, 'k8s', 'base', 'namespace.yaml'), 'utf8')) as KubeObject;
    expect(namespace.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
  });

  it.each(['dev', 'prod'])('the %s overlay: every pod, its Dapr sidecar included, meets it', async (overlay) => {
    const objects = (await renderOverlay(dir, overlay)) as Workload[];
    const namespaces = objects.filter((o) => o.kind === 'Namespace');
    expect(namespaces.map((n) => n.metadata.labels?.['pod-security.kubernetes.io/enforce'])).toEqual(['restricted']);
    const settings = injectorSettings();
    const refused: Record<string, string[]> = {};
    let pods = 0;
    for (const object of objects) {
      const template = object.spec?.template ?? object.spec?.jobTemplate?.spec.template;
      if (!template) continue;
      pods += 1;
      const annotations = (template as { metadata?: { annotations?: Record<string, string> } }).metadata?.annotations ?? {};
      const pod = { ...template.spec };
      if (annotations['dapr.io/enabled'] === 'true') pod.containers = [...pod.containers, injectedSidecar(annotations, settings)];
      const found = violations(pod);
      if (found.length) refused[`${object.kind}/${object.metadata.name}`] = found;
    }
    // The seven apps, the topic Job, and in dev the datastores and Zipkin.
    expect(pods).toBeGreaterThanOrEqual(overlay === 'dev' ? 13 : 8);
    expect(refused).toEqual({});
  });

  it('the check refuses what the profile refuses (a root datastore, the injector left at its defaults)', async () => {
    const objects = (await renderOverlay(dir, 'dev')) as Workload[];
    const postgres = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'postgres')!.spec.template!.spec;
    expect(violations({ ...postgres, securityContext: { ...postgres.securityContext, runAsNonRoot: undefined } })).toEqual([
      'container postgres: runAsNonRoot not true',
    ]);
    const gateway = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'gateway')!.spec.template!;
    const sidecar = injectedSidecar(gateway.metadata!.annotations!, {});
    expect(violations({ ...gateway.spec, containers: [sidecar] })).toEqual(['container daprd: capabilities not dropped (ALL)']);
  });
});
