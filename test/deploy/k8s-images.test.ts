/**
 * One registry path for the CareGrid images (the apps and the daprd sidecar), set in one place
 * (k8s/image-registry/images.yaml): the overlays pull exactly the names the image workflow pushes
 * and the Kubernetes e2e builds, the sidecar under the apps' tag.
 * The workflows' own steps are run here (with `docker` and `kind` stood in by recorders), so
 * a step that computes its names elsewhere fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultRunFile, loadRunFile, repoRoot } from '@caregrid/devkit';
import { copyDeployment, type KubeObject, readWorkflow, renderOverlay, workflowStep } from './k8s-render.js';

type Deployment = KubeObject & {
  spec: { template: { metadata: { annotations?: Record<string, string> }; spec: { containers: { name: string; image: string }[] } } };
};

const appIds = loadRunFile(defaultRunFile).map((a) => a.appId);
const { dir: work, dispose } = copyDeployment(['.github']);
afterAll(dispose);

const appImages = (objects: KubeObject[]) =>
  Object.fromEntries(
    (objects.filter((o) => o.kind === 'Deployment') as Deployment[])
      .filter((d) => appIds.includes(d.metadata.name))
      .map((d) => [d.metadata.name, d.spec.template.spec.containers.find((c) => c.name === 'app')!.image]),
  );

/** The sidecar image of every Deployment Dapr injects into: its dapr.io/sidecar-image annotation. */
const sidecarImages = (objects: KubeObject[]) =>
  Object.fromEntries(
    (objects.filter((o) => o.kind === 'Deployment') as Deployment[])
      .filter((d) => d.spec.template.metadata.annotations?.['dapr.io/enabled'] === 'true')
      .map((d) => [d.metadata.name, d.spec.template.metadata.annotations?.['dapr.io/sidecar-image']]),
  );

/** Runs the images workflow's "Image name" step for one matrix entry; returns its output or its failure. */
function imagesWorkflowName(root: string, service: string, owner: string): { image?: string; error?: string } {
  const step = workflowStep(readWorkflow(root, 'images.yml'), 'image', 'Image name');
  expect(step.run).not.toContain('${{'); // everything it uses arrives through env, as here
  const output = path.join(root, `github-output-${service}`);
  writeFileSync(output, '');
  const result = spawnSync('bash', ['-eo', 'pipefail', '-c', step.run!], {
    cwd: root,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, SERVICE: service, OWNER: owner, GITHUB_OUTPUT: output },
  });
  if (result.status !== 0) return { error: result.stdout + result.stderr };
  return { image: /^image=(.*)$/m.exec(readFileSync(output, 'utf8'))?.[1] };
}

/** Runs the e2e's build step with `docker` and `kind` recording their arguments; returns the images loaded into kind. */
function e2eLoadedImages(root: string): string[] {
  const step = workflowStep(readWorkflow(root, 'k8s-e2e.yml'), 'e2e', 'Build the images');
  const bin = path.join(root, 'recorders');
  mkdirSync(bin, { recursive: true });
  const log = path.join(root, 'recorded.log');
  writeFileSync(log, '');
  for (const tool of ['docker', 'kind', 'kustomize']) {
    writeFileSync(path.join(bin, tool), `#!/usr/bin/env bash\necho "${tool} $*" >> "${log}"\n`);
    chmodSync(path.join(bin, tool), 0o755);
  }
  execFileSync('bash', ['-eo', 'pipefail', '-c', step.run!], { cwd: root, env: { PATH: `${bin}:${process.env.PATH}` } });
  const calls = readFileSync(log, 'utf8').trim().split('\n');
  // Whatever edits the overlay instead of building the names it pulls is a mistake here.
  expect(calls.filter((c) => c.startsWith('kustomize'))).toEqual([]);
  return calls.filter((c) => c.startsWith('kind load')).map((c) => c.split(' ').at(-1)!);
}

describe('one registry path for the app images', () => {
  it('is set in one file: no registry path appears anywhere else in k8s/ or the workflows', () => {
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'k8s', '.github/workflows'], {
      cwd: repoRoot,
      encoding: 'utf8',
    })
      .trim()
      .split('\n');
    // Manifests, kustomizations, scripts and workflows (prose may name registries).
    const naming = files.filter(
      (f) =>
        /\.(ya?ml|sh)$/.test(f) &&
        /\bghcr\.io\/|docker\.io\/|\.azurecr\.io|\.amazonaws\.com\//.test(readFileSync(path.join(repoRoot, f), 'utf8')),
    );
    expect(naming).toEqual(['k8s/image-registry/images.yaml']);
    // The manifests name their image by the bare app-id.
    for (const file of readdirSync(path.join(repoRoot, 'k8s', 'base', 'apps')))
      expect(readFileSync(path.join(repoRoot, 'k8s', 'base', 'apps', file), 'utf8')).toMatch(
        new RegExp(`image: ${path.basename(file, '.yaml')}\\b`),
      );
    // The sidecar image is named once, bare, for every pod of the base (both overlays take it).
    const annotating = files.filter(
      (f) => /\.ya?ml$/.test(f) && readFileSync(path.join(repoRoot, f), 'utf8').includes('dapr.io/sidecar-image:'),
    );
    expect(annotating).toEqual(['k8s/base/pod-defaults.yaml']);
    expect(readFileSync(path.join(repoRoot, 'k8s', 'base', 'pod-defaults.yaml'), 'utf8')).toMatch(/^\s+dapr\.io\/sidecar-image: daprd$/m);
  });

  it.each(['dev', 'prod'])(
    "the %s overlay pulls what the image workflow pushes (and the e2e loads, for dev), CareGrid's daprd in every pod",
    async (overlay) => {
      const objects = await renderOverlay(work, overlay);
      const images = appImages(objects);
      expect(Object.keys(images).sort()).toEqual([...appIds].sort());
      const pushed = Object.fromEntries(appIds.map((id) => [id, imagesWorkflowName(work, id, 'caregrid').image]));
      expect(Object.fromEntries(Object.entries(images).map(([id, image]) => [id, image.replace(/:[^:/]+$/, '')]))).toEqual(pushed);
      // Every pod's sidecar: the daprd image the workflow pushes, under the tag of the apps.
      const tags = new Set(Object.values(images).map((image) => /:([^:/]+)$/.exec(image)![1]));
      expect(tags.size).toBe(1);
      const sidecar = `${imagesWorkflowName(work, 'daprd', 'caregrid').image}:${[...tags][0]}`;
      expect(sidecar).toBe(`ghcr.io/caregrid/daprd:${overlay === 'dev' ? 'dev' : '0.1.0'}`);
      const sidecars = sidecarImages(objects);
      expect(Object.keys(sidecars).sort()).toEqual([...appIds].sort());
      expect(new Set(Object.values(sidecars))).toEqual(new Set([sidecar]));
      if (overlay === 'dev') {
        // And the dev Kafka's users and ACLs: Compose's kafka-access image, first step of the topic Job.
        const access = objects
          .filter((o) => o.kind === 'Job')
          .flatMap(
            (job) => (job.spec as { template: { spec: { initContainers?: { image: string }[] } } }).template.spec.initContainers ?? [],
          )
          .map((c) => c.image);
        expect(access).toEqual([`${imagesWorkflowName(work, 'kafka-access', 'caregrid').image}:dev`]);
        expect(e2eLoadedImages(work).sort()).toEqual([...Object.values(images), sidecar, ...access].sort());
      }
    },
  );

  it('moving the registry in images.yaml moves the overlays, the push and the e2e with it', async () => {
    const { dir: fork, dispose: disposeFork } = copyDeployment(['.github']);
    try {
      const file = path.join(fork, 'k8s', 'image-registry', 'images.yaml');
      writeFileSync(file, readFileSync(file, 'utf8').replaceAll('ghcr.io/caregrid/', 'ghcr.io/a-fork/'));
      const objects = await renderOverlay(fork, 'dev');
      const images = appImages(objects);
      for (const id of appIds) {
        expect(images[id]).toBe(`ghcr.io/a-fork/${id}:dev`);
        expect(imagesWorkflowName(fork, id, 'A-Fork')).toEqual({ image: `ghcr.io/a-fork/${id}` });
      }
      expect(new Set(Object.values(sidecarImages(objects)))).toEqual(new Set(['ghcr.io/a-fork/daprd:dev']));
      expect(imagesWorkflowName(fork, 'daprd', 'A-Fork')).toEqual({ image: 'ghcr.io/a-fork/daprd' });
      expect(e2eLoadedImages(fork).sort()).toEqual(
        [...Object.values(images), 'ghcr.io/a-fork/daprd:dev', 'ghcr.io/a-fork/kafka-access:dev'].sort(),
      );
      expect(JSON.stringify(objects.find((o) => o.kind === 'Job' && o.metadata.name === 'kafka-topics'))).toContain(
        '"image":"ghcr.io/a-fork/kafka-access:dev"',
      );
      // The fork's owner cannot push under another owner: the workflow says so before building.
      expect(imagesWorkflowName(fork, 'gateway', 'caregrid').error).toContain('k8s/image-registry/images.yaml');
    } finally {
      disposeFork();
    }
  });

  it('image-name.sh refuses an app it does not know', () => {
    const result = spawnSync('bash', [path.join(repoRoot, 'k8s', 'image-registry', 'image-name.sh'), 'service'], { encoding: 'utf8' });
    expect([result.status, result.stderr]).toEqual([1, expect.stringContaining('expected one newName ending in /service')]);
  });
});
