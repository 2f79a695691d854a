/**
 * npm run build (scripts/build.ts): what runs is the build of the current sources, one module with
 * our packages inside and third-party packages left to node_modules, and parallel callers (jest
 * workers starting test stacks) build once and never see a half-written bundle.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureBuilt, isFresh, repoRoot } from '../../scripts/build.js';

const service = 'billing-service';
const dist = path.join(repoRoot, 'services', service, 'dist');
const stampFile = path.join(dist, 'build.json');

describe('npm run build', () => {
  beforeAll(async () => {
    await ensureBuilt([service]);
  }, 60_000);

  it('bundles our workspace packages in, imports third-party packages from node_modules, copies the migrations', () => {
    const bundle = readFileSync(path.join(dist, 'main.js'), 'utf8');
    expect(bundle).not.toMatch(/from ["']@caregrid\//);
    expect(bundle).toMatch(/from ["']express["']/);
    // pdfkit reads its font files relative to its own module: it must stay a package import (loaded on first use).
    expect(bundle).toMatch(/import\(["']pdfkit["']\)/);
    const stamp = JSON.parse(readFileSync(stampFile, 'utf8')) as { inputs: string[] };
    expect(stamp.inputs).toEqual(expect.arrayContaining(['packages/platform/src/dapr/sidecar.ts', `services/${service}/src/main.ts`]));
    const migrations = readFileSync(path.join(dist, 'data', 'migrations', '001_create_invoices.sql'), 'utf8');
    expect(migrations).toBe(
      readFileSync(path.join(repoRoot, 'services', service, 'src', 'data', 'migrations', '001_create_invoices.sql'), 'utf8'),
    );
  });

  it('is stale when an input changed (a different hash) and builds again; fresh builds are skipped', async () => {
    expect(isFresh(service)).toBe(true);
    expect(await ensureBuilt([service])).toEqual([]);
    const stamp = JSON.parse(readFileSync(stampFile, 'utf8')) as { key: string };
    writeFileSync(stampFile, JSON.stringify({ ...stamp, key: 'from other sources' }));
    expect(isFresh(service)).toBe(false);
    expect(await ensureBuilt([service])).toEqual([service]);
    expect(isFresh(service)).toBe(true);
  }, 60_000);

  it('parallel builders take turns: one builds, the others find its build fresh', async () => {
    const stamp = JSON.parse(readFileSync(stampFile, 'utf8')) as { key: string };
    writeFileSync(stampFile, JSON.stringify({ ...stamp, key: 'stale' }));
    // Separate processes, as jest workers are: the lock is a file, not a variable of one process.
    const run = () =>
      new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn('node', ['--import', 'tsx', 'scripts/build.ts', service], { cwd: repoRoot });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.on('exit', (code) => resolve({ code, output }));
      });
    const results = await Promise.all([run(), run(), run()]);
    expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(results.filter((r) => r.output.includes(`built ${service}`))).toHaveLength(1);
    expect(results.filter((r) => r.output.includes('every service is up to date'))).toHaveLength(2);
    expect(isFresh(service)).toBe(true);
    expect(spawnSync('node', ['--check', path.join(dist, 'main.js')]).status).toBe(0);
  }, 120_000);
});
