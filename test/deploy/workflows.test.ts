/**
 * The GitHub workflows, checked offline: actionlint (built from its Go module by
 * infra/infra.sh tools) on every workflow, plus what must stay in step with the
 * rest of the repository — CI runs the README's test command, the image matrix
 * covers every app of dapr.yaml, the e2e applies an overlay that exists.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { defaultRunFile, loadRunFile, repoRoot } from '@caregrid/devkit';

const actionlint = path.join(repoRoot, '.caregrid', 'bin', 'actionlint');
const workflowsDir = path.join(repoRoot, '.github', 'workflows');
const workflow = (name: string) => parse(readFileSync(path.join(workflowsDir, name), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const lint = (args: string[], cwd = repoRoot) => spawnSync(actionlint, ['-no-color', ...args], { cwd, encoding: 'utf8' });

describe('GitHub workflows', () => {
  it('the three workflows and dependabot exist', () => {
    expect(readdirSync(workflowsDir).sort()).toEqual(['ci.yml', 'images.yml', 'k8s-e2e.yml']);
    const dependabot = parse(readFileSync(path.join(repoRoot, '.github', 'dependabot.yml'), 'utf8')) as {
      updates: { 'package-ecosystem': string }[];
    };
    expect(dependabot.updates.map((u) => u['package-ecosystem'])).toEqual(expect.arrayContaining(['npm', 'github-actions', 'docker']));
  });

  it('actionlint finds nothing to report', () => {
    const result = lint([]);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('actionlint does report a misspelt action input and an unknown context property', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'actionlint-'));
    mkdirSync(path.join(dir, '.github', 'workflows'), { recursive: true });
    const file = path.join(dir, '.github', 'workflows', 'broken.yml');
    writeFileSync(
      file,
      'on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          fetch-depht: 1\n      - run: echo "${{ github.evnt.name }}"\n',
    );
    const result = lint([file], dir);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('"fetch-depht" is not defined');
    expect(result.stdout).toContain('property "evnt" is not defined');
  });

  it('CI runs the same test command as the README, which is .ci/run', () => {
    const steps = workflow('ci.yml').jobs.test.steps as { run?: string }[];
    expect(steps.map((s) => s.run)).toContain('bash .ci/run');
    expect(readFileSync(path.join(repoRoot, '.ci', 'run'), 'utf8')).toMatch(/^npm test$/m);
    expect(readFileSync(path.join(repoRoot, 'README.md'), 'utf8')).toMatch(/^npm test\s/m);
  });

  it('images are built for every app of dapr.yaml and the daprd sidecar, multi-arch, with provenance', () => {
    const job = workflow('images.yml').jobs.image;
    const appIds = loadRunFile(defaultRunFile).map((a) => a.appId);
    expect([...job.strategy.matrix.service].sort()).toEqual([...appIds, 'daprd'].sort());
    // The apps: the Dockerfile's default stage (no target); the sidecar: its daprd stage.
    expect(job.strategy.matrix.include).toEqual([{ service: 'daprd', target: 'daprd' }]);
    const steps = job.steps as { name?: string; uses?: string; with?: Record<string, unknown> }[];
    const build = steps.find((s) => s.uses?.startsWith('docker/build-push-action') && s.with?.push === true);
    expect(build?.with).toMatchObject({
      platforms: 'linux/amd64,linux/arm64',
      provenance: 'mode=max',
      target: '${{ matrix.target }}',
      'build-args': 'SERVICE=${{ matrix.service }}',
    });
    expect(existsSync(path.join(repoRoot, 'Dockerfile'))).toBe(true);
  });

  it('images are pushed only after their production dependencies and the image itself pass a critical-vulnerability scan', () => {
    const images = workflow('images.yml');
    const audit = (images.jobs.dependencies.steps as { run?: string }[]).map((s) => s.run ?? '');
    expect(audit).toContain('npm audit --audit-level=critical --omit=dev');
    expect(images.jobs.image.needs).toBe('dependencies');
    const steps = images.jobs.image.steps as { id?: string; uses?: string; with?: Record<string, unknown> }[];
    const scanAt = steps.findIndex((s) => s.uses?.startsWith('aquasecurity/trivy-action@'));
    const pushAt = steps.findIndex((s) => s.uses?.startsWith('docker/build-push-action') && s.with?.push === true);
    expect(scanAt).toBeGreaterThan(0);
    expect(scanAt).toBeLessThan(pushAt);
    const scan = steps[scanAt]!.with!;
    expect(scan).toMatchObject({ severity: 'CRITICAL', 'exit-code': '1' });
    // The image scanned is the one built just before it, of the same target.
    const scanned = steps.slice(0, scanAt).find((s) => s.uses?.startsWith('docker/build-push-action'))!.with!;
    expect(scanned).toMatchObject({ load: true, push: false, target: '${{ matrix.target }}', tags: scan['image-ref'] });
  });

  it("the containers leg runs every sidecar with the daprd image's own binary, checked against go.mod's version", () => {
    const steps = workflow('ci.yml').jobs.test.steps as { name?: string; if?: string; run?: string }[];
    const at = steps.findIndex((s) => s.name?.startsWith('The shipped sidecar'));
    expect(at).toBeGreaterThan(-1);
    expect(at).toBeLessThan(steps.findIndex((s) => s.run === 'bash .ci/run'));
    expect(steps[at]!.if).toBe("matrix.infra == 'containers'");
    // Replayed with `docker` recording its calls and handing out a daprd that prints `version`.
    const runStep = (version: string) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'ci-sidecar-'));
      const bin = path.join(dir, 'bin');
      mkdirSync(bin);
      const docker = path.join(bin, 'docker');
      writeFileSync(
        docker,
        `#!/usr/bin/env bash\necho "$*" >> "${dir}/docker.log"\ncase "$1" in\n  create) echo c0ffee ;;\n  cp) printf '#!/bin/sh\\necho ${version}\\n' > "$3" && chmod +x "$3" ;;\nesac\n`,
      );
      chmodSync(docker, 0o755);
      writeFileSync(path.join(dir, 'env'), '');
      const result = spawnSync('bash', ['-eo', 'pipefail', '-c', steps[at]!.run!], {
        cwd: repoRoot,
        encoding: 'utf8',
        env: { PATH: `${bin}:${process.env.PATH}`, RUNNER_TEMP: dir, GITHUB_ENV: path.join(dir, 'env') },
      });
      return {
        dir,
        status: result.status,
        env: readFileSync(path.join(dir, 'env'), 'utf8'),
        docker: readFileSync(path.join(dir, 'docker.log'), 'utf8'),
      };
    };
    const goModVersion = /^\s*github\.com\/dapr\/dapr v(\S+)$/m.exec(
      readFileSync(path.join(repoRoot, 'infra', 'daprd', 'go.mod'), 'utf8'),
    )![1]!;
    const shipped = runStep(goModVersion);
    expect(shipped.status).toBe(0);
    expect(shipped.docker).toMatch(/^build --target daprd -t (\S+) \.$/m);
    expect(shipped.docker).toContain('cp c0ffee:/daprd ');
    expect(shipped.env).toBe(`CAREGRID_DAPRD_BINARY=${path.join(shipped.dir, 'daprd')}\n`);
    const stale = runStep('1.17.0');
    expect([stale.status, stale.env]).toEqual([1, '']);
    // packages/devkit's daprd path honours it (packages/devkit/test/paths.test.ts); the README names it.
    expect(readFileSync(path.join(repoRoot, 'packages', 'devkit', 'src', 'paths.ts'), 'utf8')).toContain(
      'process.env.CAREGRID_DAPRD_BINARY',
    );
    expect(readFileSync(path.join(repoRoot, 'README.md'), 'utf8')).toContain('CAREGRID_DAPRD_BINARY');
  });

  it('images are published only from a push whose CI checks and tests passed on that commit', () => {
    // The image workflow has no trigger of its own: only CI calls it, after its checks and tests.
    expect(Object.keys(workflow('images.yml').on)).toEqual(['workflow_call']);
    const ci = workflow('ci.yml');
    const publishers = Object.entries(ci.jobs as Record<string, { uses?: string; needs?: string[]; if?: string }>).filter(
      ([, job]) => job.uses === './.github/workflows/images.yml',
    );
    expect(publishers).toHaveLength(1);
    const [, images] = publishers[0]!;
    expect([...(images.needs ?? [])].sort()).toEqual(
      Object.keys(ci.jobs)
        .filter((id) => id !== publishers[0]![0])
        .sort(),
    );
    expect(images.if).toBe("github.event_name == 'push'");
    // Version tags are built by CI too (and so published after it passed).
    expect(ci.on.push).toEqual({ branches: ['main'], tags: ['v*'] });
  });

  it('the Kubernetes e2e: Dapr CLI 1.18.x, and it runs when the dependencies change', () => {
    const e2e = workflow('k8s-e2e.yml');
    const setup = (e2e.jobs.e2e.steps as { uses?: string; with?: Record<string, string> }[]).find((s) =>
      s.uses?.startsWith('dapr/setup-dapr'),
    );
    const cliVersion = String(setup?.with?.version).replace('${{ env.DAPR_CLI_VERSION }}', e2e.env.DAPR_CLI_VERSION);
    expect(cliVersion).toMatch(/^1\.18\.\d+$/);
    expect(e2e.env.DAPR_RUNTIME_VERSION).toMatch(/^1\.18\.\d+$/);
    expect(e2e.on.pull_request.paths).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'Dockerfile', 'k8s/**']));
  });

  it('the Kubernetes e2e installs the Gateway API CRDs of the version the manifests are validated against', () => {
    const e2e = workflow('k8s-e2e.yml');
    const crds = readdirSync(path.join(repoRoot, 'test', 'deploy', 'crds', 'gateway-api')).map(
      (file) =>
        (
          parse(readFileSync(path.join(repoRoot, 'test', 'deploy', 'crds', 'gateway-api', file), 'utf8')) as {
            metadata: { annotations: Record<string, string> };
          }
        ).metadata.annotations['gateway.networking.k8s.io/bundle-version'],
    );
    expect(new Set(crds)).toEqual(new Set([e2e.env.GATEWAY_API_VERSION]));
    const scripts = (e2e.jobs.e2e.steps as { run?: string }[]).map((s) => s.run ?? '').join('\n');
    expect(scripts).toContain('gateway-api/releases/download/$GATEWAY_API_VERSION/standard-install.yaml');
  });

  it('the Kubernetes e2e applies an overlay of this repository and runs the smoke script', () => {
    const e2e = workflow('k8s-e2e.yml');
    expect(existsSync(path.join(repoRoot, e2e.env.OVERLAY, 'kustomization.yaml'))).toBe(true);
    const scripts = (e2e.jobs.e2e.steps as { run?: string }[]).map((s) => s.run ?? '').join('\n');
    expect(scripts).toContain('dapr init -k');
    expect(scripts).toContain('npm run smoke');
    expect(scripts).toContain('npm run deploy:secrets');
    const packageJson = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(Object.keys(packageJson.scripts)).toEqual(expect.arrayContaining(['smoke', 'deploy:secrets']));
  });
});
