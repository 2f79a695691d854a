/**
 * What each service image holds, without a Docker engine: the Dockerfile's own
 * COPY and `npm ci` steps (read from the Dockerfile, so this cannot drift from
 * it) replayed into a temporary /app, then the image's CMD started there until
 * it has loaded its whole module graph and waits for its sidecar. Catches a
 * runtime import that is only a devDependency, a shared package missing from
 * the image, or a source folder not copied.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultRunFile, loadRunFile, repoRoot } from '@caregrid/devkit';

type Stage = { copies: { from: string; to: string }[]; runs: string[]; workdir?: string; cmd?: string[] };

/** The Dockerfile's stages: COPY sources (from the build context), RUN commands, WORKDIR, CMD. */
function readDockerfile(service: string): Record<string, Stage> {
  const text = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, '');
  const stages: Record<string, Stage> = {};
  let current: Stage | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim().replace(/\$\{SERVICE\}/g, service);
    const from = /^FROM\s+\S+\s+AS\s+(\S+)/i.exec(line);
    if (from) stages[from[1]!] = current = { copies: [], runs: [] };
    if (!current) continue;
    if (line.startsWith('COPY ')) {
      const args = line.split(/\s+/).slice(1);
      // COPY --from=<stage> copies between stages: replayed by building both stages in one folder.
      if (!args[0]!.startsWith('--')) {
        const to = args.pop()!;
        for (const from of args) current.copies.push({ from, to });
      }
    }
    if (line.startsWith('RUN '))
      current.runs.push(
        ...line
          .slice(4)
          .split('&&')
          .map((c) => c.trim()),
      );
    if (line.startsWith('WORKDIR ')) current.workdir = line.slice(8);
    if (line.startsWith('CMD [')) current.cmd = JSON.parse(line.slice(4)) as string[];
  }
  return stages;
}

function replayCopies(stage: Stage, app: string): void {
  for (const { from, to } of stage.copies) {
    const source = path.join(repoRoot, from);
    const target = to.endsWith('/') ? path.join(app, to, path.basename(from)) : path.join(app, to === './' ? path.basename(from) : to);
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
 * The clinic-app stage (its copies, `npm ci` and build) in a folder of its own, then its dist/
 * where the runtime stage's COPY --from puts it: the gateway finds index.html at its default path.
 */
function replayClinicAppStage(stage: Stage, app: string): void {
  const build = mkdtempSync(path.join(tmpdir(), 'image-clinic-app-'));
  try {
    replayCopies(stage, build);
    for (const command of stage.runs) {
      const result = spawnSync('sh', ['-c', command.startsWith('npm ci') ? `${command} --prefer-offline --loglevel=error` : command], {
        cwd: build,
        encoding: 'utf8',
      });
      expect(result.status).toBe(0);
    }
    cpSync(path.join(build, 'packages/clinic-app/dist'), path.join(app, 'packages/clinic-app/dist'), { recursive: true });
  } finally {
    rmSync(build, { recursive: true, force: true });
  }
  expect(readFileSync(path.join(app, 'packages/clinic-app/dist/index.html'), 'utf8')).toMatch(/\/app\/assets\/main-\w+\.js/);
}

const services = loadRunFile(defaultRunFile).map((app) => app.appId);

describe('service images (Dockerfile replayed without Docker)', () => {
  it.each(services)(
    '%s: production dependencies and copied sources are all it needs to start',
    async (service) => {
      const stages = readDockerfile(service);
      expect(Object.keys(stages)).toEqual(['clinic-app', 'deps', 'runtime']);
      const app = mkdtempSync(path.join(tmpdir(), `image-${service}-`));
      try {
        replayCopies(stages.deps!, app);
        for (const command of stages.deps!.runs.filter((r) => r.startsWith('npm ci'))) {
          const result = spawnSync('sh', ['-c', `${command} --prefer-offline --loglevel=error`], { cwd: app, encoding: 'utf8' });
          expect(result.stderr).toBe('');
          expect(result.status).toBe(0);
        }
        replayCopies(stages.runtime!, app);
        if (service === 'gateway') replayClinicAppStage(stages['clinic-app']!, app);
        // Development-only packages stay out.
        for (const devOnly of ['@caregrid/devkit', 'jest', 'typescript', 'eslint']) {
          expect(existsSync(path.join(app, 'node_modules', devOnly))).toBe(false);
        }
        expect(existsSync(path.join(app, 'services', service, 'test'))).toBe(false);
        const workdir = path.join(app, path.relative('/app', stages.runtime!.workdir!));
        const output = await startUntilWaitingForSidecar(workdir, stages.runtime!.cmd!, service);
        expect(output).toContain(`"service":"${service}"`);
      } finally {
        rmSync(app, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
