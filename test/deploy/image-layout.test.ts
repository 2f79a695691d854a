/**
 * What each image holds, without a Docker engine: the Dockerfile's own COPY, `npm ci` and build
 * steps (read from the Dockerfile, so this cannot drift from it) replayed into temporary folders.
 * A service image's CMD is started there until it has loaded its whole module graph and waits
 * for its sidecar: catches a runtime import that is only a devDependency, a shared package
 * missing from the build, or a source folder not copied. The sidecar image's build runs as the
 * stage runs it, and its binary must be the one infra/daprd/build.sh builds (patched).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultRunFile, loadRunFile, repoRoot } from '@caregrid/devkit';

type Copy = { from: string; to: string; stage?: string };
type Stage = {
  /** The base image, ARGs resolved; `platform` its --platform. */
  image: string;
  platform?: string;
  copies: Copy[];
  /** RUN commands, each `&&` link apart; `runLines` the RUN lines whole. */
  runs: string[];
  runLines: string[];
  workdir?: string;
  cmd?: string[];
  entrypoint?: string[];
  user?: string;
};

/** The ARGs declared before the first FROM, with their defaults. */
function globalArgs(text: string): Record<string, string> {
  const head = text.slice(0, text.search(/^FROM /m));
  return Object.fromEntries([...head.matchAll(/^ARG (\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/**
 * The Dockerfile's stages, in order: base image, COPY sources (from the build context), RUN
 * commands, WORKDIR, CMD, ENTRYPOINT, USER. `args` stand for build arguments (`${NAME}`).
 */
function readDockerfile(args: Record<string, string> = {}): Record<string, Stage> {
  const text = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, '');
  const values = { ...globalArgs(text), ...args };
  const stages: Record<string, Stage> = {};
  let current: Stage | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim().replace(/\$\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
    const from = /^FROM\s+(?:--platform=(\S+)\s+)?(\S+)\s+AS\s+(\S+)/i.exec(line);
    if (from) stages[from[3]!] = current = { image: from[2]!, platform: from[1], copies: [], runs: [], runLines: [] };
    if (!current) continue;
    if (line.startsWith('COPY ')) {
      const args = line.split(/\s+/).slice(1);
      const stage = /^--from=(\S+)$/.exec(args[0]!)?.[1];
      if (stage) args.shift();
      const to = args.pop()!;
      for (const from of args) current.copies.push({ from, to, stage });
    }
    if (line.startsWith('RUN ')) current.runLines.push(line.slice(4));
    if (line.startsWith('RUN '))
      current.runs.push(
        ...line
          .slice(4)
          .split('&&')
          .map((c) => c.trim()),
      );
    if (line.startsWith('WORKDIR ')) current.workdir = line.slice(8);
    if (line.startsWith('CMD [')) current.cmd = JSON.parse(line.slice(4)) as string[];
    if (line.startsWith('ENTRYPOINT [')) current.entrypoint = JSON.parse(line.slice(11)) as string[];
    if (line.startsWith('USER ')) current.user = line.slice(5);
  }
  return stages;
}

/**
 * A stage's COPY lines into its folder (`to` relative to /app): from the build context, or
 * `--from=<stage>` from that stage's folder. `COPY --from=deps /app ./` is replayed by building
 * deps and runtime in one folder.
 */
function replayCopies(stage: Stage, app: string, stageDirs: Record<string, string> = {}): void {
  for (const { from, to, stage: other } of stage.copies) {
    if (other === 'deps') continue;
    const source = other ? path.join(stageDirs[other]!, path.relative('/app', from)) : path.join(repoRoot, from);
    const target = other
      ? path.join(app, to)
      : to.endsWith('/')
        ? path.join(app, to, path.basename(from))
        : path.join(app, to === './' ? path.basename(from) : to);
    mkdirSync(path.dirname(target), { recursive: true });
    cpSync(source, target, { recursive: true });
  }
}

/** Runs the CMD until the service logs that it waits for its sidecar (nothing listens on that port). */
function startUntilWaitingForSidecar(cwd: string, cmd: string[], appId: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0]!, cmd.slice(1), {
      cwd,
      env: { PATH: process.env.PATH, NODE_ENV: 'production', APP_ID: appId, APP_PORT: '1', DAPR_HTTP_PORT: '1', LOG_LEVEL: 'info' },
    });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no "waiting for the sidecar" within 60 s:\n${output}`));
    }, 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('waiting for the sidecar')) {
        clearTimeout(timer);
        child.kill('SIGKILL');
        resolve(output);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!output.includes('waiting for the sidecar')) reject(new Error(`exited with ${code} before waiting for its sidecar:\n${output}`));
    });
  });
}

/**
 * The build stage: its COPY lines, then its RUN lines but the install. Its `npm ci` (the service's
 * dependencies plus the root's dev tools) would take a minute per service here: the repository's own
 * node_modules stands in for it, except our workspace packages, which resolve to the stage's copies
 * only, so a source folder the stage does not copy fails the build.
 */
function replayBuildStage(stage: Stage, dir: string): void {
  replayCopies(stage, dir);
  const [install, ...runs] = stage.runs;
  expect(install).toMatch(/^npm ci .*--include-workspace-root/);
  mkdirSync(path.join(dir, 'node_modules', '@caregrid'), { recursive: true });
  for (const entry of readdirSync(path.join(repoRoot, 'node_modules')).filter((e) => e !== '@caregrid' && e !== '.cache'))
    symlinkSync(path.join(repoRoot, 'node_modules', entry), path.join(dir, 'node_modules', entry));
  for (const parent of ['packages', 'services'])
    for (const name of existsSync(path.join(dir, parent)) ? readdirSync(path.join(dir, parent)) : [])
      symlinkSync(path.join(dir, parent, name), path.join(dir, 'node_modules', '@caregrid', name));
  for (const command of runs) {
    const result = spawnSync('sh', ['-c', command], { cwd: dir, encoding: 'utf8' });
    expect({ command, status: result.status, stderr: result.stderr }).toEqual({ command, status: 0, stderr: '' });
  }
}

/**
 * The clinic-app stage (its copies, `npm ci` and build) in a folder of its own, once for every
 * image: the runtime stage's `COPY --from=clinic-app` takes its dist/ from there.
 */
let clinicAppStageDir: string | undefined;
function replayClinicAppStage(stage: Stage): string {
  if (clinicAppStageDir) return clinicAppStageDir;
  const dir = mkdtempSync(path.join(tmpdir(), 'image-clinic-app-'));
  replayCopies(stage, dir);
  for (const command of stage.runs) {
    const result = spawnSync('sh', ['-c', command.startsWith('npm ci') ? `${command} --prefer-offline --loglevel=error` : command], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
  }
  expect(readFileSync(path.join(dir, 'packages/clinic-app/dist/index.html'), 'utf8')).toMatch(/\/app\/assets\/main-\w+\.js/);
  return (clinicAppStageDir = dir);
}

const services = loadRunFile(defaultRunFile).map((app) => app.appId);

describe('service images (Dockerfile replayed without Docker)', () => {
  afterAll(() => {
    if (clinicAppStageDir) rmSync(clinicAppStageDir, { recursive: true, force: true });
  });
  it.each(services)(
    '%s: production dependencies and copied sources are all it needs to start',
    async (service) => {
      const stages = readDockerfile({ SERVICE: service });
      // runtime last: a build without --target (the apps' build) makes a service image.
      expect(Object.keys(stages)).toEqual([
        'daprd-build',
        'daprd',
        'kafka-dist',
        'kafka-access-build',
        'kafka-access',
        'clinic-app',
        'deps',
        'build',
        'runtime',
      ]);
      const app = mkdtempSync(path.join(tmpdir(), `image-${service}-`));
      const build = mkdtempSync(path.join(tmpdir(), `image-build-${service}-`));
      try {
        replayBuildStage(stages.build!, build);
        replayCopies(stages.deps!, app);
        for (const command of stages.deps!.runs.filter((r) => r.startsWith('npm ci'))) {
          const result = spawnSync('sh', ['-c', `${command} --prefer-offline --loglevel=error`], { cwd: app, encoding: 'utf8' });
          expect(result.stderr).toBe('');
          expect(result.status).toBe(0);
        }
        replayCopies(stages.runtime!, app, { build, 'clinic-app': replayClinicAppStage(stages['clinic-app']!) });
        // Development-only packages stay out, the TypeScript loader and compiler too: the image runs the build.
        for (const devOnly of ['@caregrid/devkit', 'jest', 'typescript', 'eslint', 'tsx', 'esbuild']) {
          expect(existsSync(path.join(app, 'node_modules', devOnly))).toBe(false);
        }
        expect(existsSync(path.join(app, 'services', service, 'test'))).toBe(false);
        expect(existsSync(path.join(app, 'services', service, 'src'))).toBe(false);
        expect(existsSync(path.join(app, 'services', service, 'dist', 'main.js'))).toBe(true);
        // Where the gateway looks for the app by default (CLINIC_APP_DIR unset).
        expect(existsSync(path.join(app, 'packages', 'clinic-app', 'dist', 'index.html'))).toBe(true);
        const workdir = path.join(app, path.relative('/app', stages.runtime!.workdir!));
        const output = await startUntilWaitingForSidecar(workdir, stages.runtime!.cmd!, service);
        expect(output).toContain(`"service":"${service}"`);
      } finally {
        rmSync(app, { recursive: true, force: true });
        rmSync(build, { recursive: true, force: true });
      }
    },
    120_000,
  );
});

/** Whether .dockerignore keeps a repository file out of the build context (last matching line wins). */
function ignoredByDockerignore(file: string): boolean {
  const toRegExp = (pattern: string) =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '(?:.*/)?')
        .replace(/\*\*/g, '.*')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')}(?:/.*)?$`,
    );
  let ignored = false;
  for (const line of readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n')) {
    const pattern = line.trim();
    if (!pattern || pattern.startsWith('#')) continue;
    const negated = pattern.startsWith('!');
    if (toRegExp(negated ? pattern.slice(1) : pattern).test(file)) ignored = !negated;
  }
  return ignored;
}

const goArch = process.arch === 'x64' ? 'amd64' : process.arch;

describe('the CareGrid daprd image (stages daprd-build and daprd, replayed without Docker)', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'image-daprd-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('is the distroless nonroot user running /daprd alone, on digest-pinned bases', () => {
    const stages = readDockerfile();
    const build = stages['daprd-build']!;
    const image = stages.daprd!;
    // Go 1.26 (infra/daprd/go.mod's), compiling on the build machine's platform for the target's.
    expect(build.image).toMatch(/^golang:1\.26(\.\d+)?(-[a-z]+)?@sha256:[0-9a-f]{64}$/);
    expect(build.platform).toBe('$BUILDPLATFORM');
    expect(image.image).toMatch(/^gcr\.io\/distroless\/static-debian12:nonroot@sha256:[0-9a-f]{64}$/);
    // Nothing but the built binary, where the Dapr sidecar injector runs it (/daprd); no shell to run anything else.
    expect(image.copies).toEqual([{ from: '/out/daprd', to: '/daprd', stage: 'daprd-build' }]);
    expect(image.runs).toEqual([]);
    expect(image.entrypoint).toEqual(['/daprd']);
    expect(image.cmd).toBeUndefined();
    // Non-root by number (a Kubernetes runAsNonRoot check cannot resolve a user name): distroless's nonroot.
    expect(image.user).toBe('65532:65532');
    // The build context holds every file of the daprd module, its patches and build.sh.
    const files = execFileSync('git', ['ls-files', 'infra/daprd'], { cwd: repoRoot, encoding: 'utf8' }).trim().split('\n');
    expect(files).toEqual(expect.arrayContaining(['infra/daprd/build.sh', 'infra/daprd/go.mod']));
    expect(files.some((f) => f.endsWith('.patch'))).toBe(true);
    expect(files.filter(ignoredByDockerignore)).toEqual([]);
  });

  it(
    "builds the very binary infra/daprd/build.sh builds (patches applied), of go.mod's Dapr version",
    () => {
      const build = readDockerfile({ TARGETOS: 'linux', TARGETARCH: goArch })['daprd-build']!;
      const dir = path.join(work, 'stage');
      replayCopies(build, dir);
      // The stage's output folder (/out, which the daprd stage copies from) lives in the temporary folder here.
      const out = path.join(dir, 'out');
      for (const command of build.runLines) {
        // The package installs of the Go image: what they install must be here already.
        if (command.startsWith('apt-get ')) {
          const packages = /apt-get install (?:-\S+\s+)*([^&]+)/.exec(command)![1]!.trim().split(/\s+/);
          for (const pkg of packages) expect([pkg, spawnSync('sh', ['-c', `command -v ${pkg}`]).status]).toEqual([pkg, 0]);
          continue;
        }
        const result = spawnSync('sh', ['-ec', command.replaceAll(' /out/', ` ${out}/`)], { cwd: dir, encoding: 'utf8' });
        expect({ command, status: result.status, stderr: result.status === 0 ? '' : result.stderr }).toEqual({
          command,
          status: 0,
          stderr: '',
        });
      }
      const shipped = path.join(out, path.relative('/out', readDockerfile().daprd!.copies[0]!.from));
      const reference = path.join(work, 'build-sh-daprd');
      execFileSync('bash', [path.join(repoRoot, 'infra', 'daprd', 'build.sh'), 'daprd', reference], {
        env: { ...process.env, GOOS: 'linux', GOARCH: goArch },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
      expect({ "the image's daprd": sha256(shipped) }).toEqual({ "the image's daprd": sha256(reference) });
      const daprVersion = /^\s*github\.com\/dapr\/dapr v(\S+)$/m.exec(
        readFileSync(path.join(repoRoot, 'infra', 'daprd', 'go.mod'), 'utf8'),
      )![1];
      expect(execFileSync(shipped, ['--version'], { encoding: 'utf8' }).trim()).toBe(daprVersion);
    },
    30 * 60_000,
  );
});
