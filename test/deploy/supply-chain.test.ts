/**
 * What the published images and deployments are made of is named immutably: the actions of every
 * job that may publish or sign (packages: write, id-token: write) by commit, base images by digest
 * (Dockerfile, Compose, Kubernetes), and one Dapr version everywhere — the one infra/daprd/go.mod
 * builds the sidecars from.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { readInfraEnv, repoRoot } from '@caregrid/devkit';
import { copyDeployment, type KubeObject, renderOverlay } from './k8s-render.js';

type Job = { permissions?: Record<string, string> | string; steps?: { uses?: string }[]; uses?: string };
type Workflow = { permissions?: Record<string, string> | string; jobs: Record<string, Job> };

const workflowsDir = path.join(repoRoot, '.github', 'workflows');
const read = (...parts: string[]) => readFileSync(path.join(repoRoot, ...parts), 'utf8');
const DIGEST = /@sha256:[0-9a-f]{64}$/;

/**
 * Images pinned by tag only, each for want of a digest this repository could verify for that
 * exact tag (no registry reachable where it was written): pin them with
 * `docker buildx imagetools inspect <image>` and remove them from here.
 */
const PINNED_BY_TAG_ONLY = ['openzipkin/zipkin:3.5.1', 'daprio/sentry:1.18.3', 'daprio/scheduler:1.18.3', 'axllent/mailpit:v1.33.1'];

const writes = (permissions: Job['permissions']) =>
  permissions === 'write-all' ||
  (typeof permissions === 'object' && (permissions.packages === 'write' || permissions['id-token'] === 'write'));

/** Each `uses:` of the jobs that may write packages or mint an OIDC token, with its line. */
function privilegedUses(): { file: string; job: string; uses: string; line: string }[] {
  return readdirSync(workflowsDir).flatMap((file) => {
    const text = readFileSync(path.join(workflowsDir, file), 'utf8');
    const workflow = parse(text) as Workflow;
    return Object.entries(workflow.jobs)
      .filter(([, job]) => writes(job.permissions ?? workflow.permissions))
      .flatMap(([name, job]) =>
        [job.uses, ...(job.steps ?? []).map((s) => s.uses)]
          .filter((uses): uses is string => Boolean(uses))
          .map((uses) => ({
            file,
            job: name,
            uses,
            line: text
              .split('\n')
              .find((l) => l.includes(`uses: ${uses}`))!
              .trim(),
          })),
      );
  });
}

describe('supply chain', () => {
  it('every action of a job that may publish or sign is pinned to a full commit, its version in a comment', () => {
    const uses = privilegedUses();
    const loose = uses
      // A workflow of this repository is pinned by the commit that calls it.
      .filter((u) => !u.uses.startsWith('./'))
      .filter((u) => !/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(u.uses) || !/ # v\d+\.\d+\.\d+$/.test(u.line))
      .map((u) => `${u.file} ${u.job}: ${u.line}`);
    expect(loose).toEqual([]);
    // The image job (packages: write, id-token: write) at least: checkout, QEMU, Buildx, login, metadata, build, scan, push, attest.
    expect(uses.filter((u) => u.file === 'images.yml').length).toBeGreaterThanOrEqual(9);
  });

  it('base images carry digests: Dockerfile, Compose and both Kubernetes overlays', async () => {
    const dockerfile = read('Dockerfile').replace(/\\\n\s*/g, '');
    const args = Object.fromEntries([...dockerfile.matchAll(/^ARG (\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    const stages = new Set([...dockerfile.matchAll(/^FROM .* AS (\S+)$/gm)].map((m) => m[1]!));
    const fromImages = [...dockerfile.matchAll(/^FROM (?:--platform=\S+ )?(\S+)/gm)]
      .map((m) => m[1]!.replace(/^\$\{(\w+)\}$/, (_all, name: string) => args[name] ?? name))
      .filter((image) => !stages.has(image));
    expect(fromImages.length).toBeGreaterThanOrEqual(3);

    const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, { image?: string }> };
    // CareGrid's own images (built from this repository, under images.yaml's path) are no base images.
    const ours = (image: string) => image.startsWith('ghcr.io/caregrid/');
    const composeImages = Object.values(compose.services)
      .map((s) => s.image!)
      .filter((image) => !ours(image));

    const { dir, dispose } = copyDeployment();
    const k8sImages: string[] = [];
    try {
      for (const overlay of ['dev', 'prod']) {
        const objects = (await renderOverlay(dir, overlay)) as (KubeObject & {
          spec?: { template?: { spec?: { containers?: { image: string }[]; initContainers?: { image: string }[] } } };
        })[];
        for (const object of objects) {
          const pod = object.spec?.template?.spec;
          for (const container of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])])
            if (!ours(container.image)) k8sImages.push(container.image);
        }
      }
    } finally {
      dispose();
    }
    const all = [...new Set([...fromImages, ...composeImages, ...k8sImages])];
    expect(all.filter((image) => !DIGEST.test(image) && !PINNED_BY_TAG_ONLY.includes(image))).toEqual([]);
    // A digest keeps its tag beside it: the version a reader (and an update) goes by.
    expect(all.filter((image) => DIGEST.test(image) && !/^[^@]+:[^@/]+@/.test(image))).toEqual([]);
    // No exception outlives its image.
    expect(PINNED_BY_TAG_ONLY.filter((image) => !all.includes(image))).toEqual([]);
  }, 120_000);

  it("one Dapr version: infra/daprd/go.mod's, in infra.env, the Kubernetes control plane, Compose's Sentry and scheduler, the README", () => {
    const goMod = /^\s*github\.com\/dapr\/dapr v(\S+)$/m.exec(read('infra', 'daprd', 'go.mod'))![1]!;
    const e2e = parse(read('.github', 'workflows', 'k8s-e2e.yml')) as { env: Record<string, string> };
    const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, { image: string }> };
    const tag = (image: string | undefined) => /^[^@]+:([^@:/]+)(@|$)/.exec(image ?? '')?.[1];
    const readme = [...read('README.md').matchAll(/dapr init -k --runtime-version (\S+)/g)].map((m) => m[1]);
    expect({
      'infra/infra.env DAPR_VERSION': readInfraEnv().DAPR_VERSION,
      'k8s-e2e DAPR_RUNTIME_VERSION': e2e.env.DAPR_RUNTIME_VERSION,
      'compose sentry': tag(compose.services.sentry?.image),
      'compose scheduler': tag(compose.services.scheduler?.image),
      'README dapr init -k': [...new Set(readme)].join(' '),
    }).toEqual({
      'infra/infra.env DAPR_VERSION': goMod,
      'k8s-e2e DAPR_RUNTIME_VERSION': goMod,
      'compose sentry': goMod,
      'compose scheduler': goMod,
      'README dapr init -k': goMod,
    });
  });
});
