/**
 * `npm run build`: each service compiled to one ES module, services/<id>/dist/main.js, which is
 * what runs everywhere (dapr.yaml's command, the launcher, the test stacks, the images): no
 * TypeScript loader at run time. esbuild bundles our workspace packages (@caregrid/*) in and keeps
 * every third-party package external, loaded from node_modules as before (pdfkit, for one, reads
 * its font files relative to its own module). The SQL migrations are copied beside the bundle,
 * where `new URL('data/migrations/', import.meta.url)` looks for them.
 *
 * Incremental: dist/build.json records the inputs of the last build (esbuild's own list, plus the
 * manifests and migrations) and a hash of their contents; a service whose inputs hash the same is
 * not built again. ensureBuilt() holds a lock file while it checks and builds, so parallel callers
 * (jest workers starting test stacks) neither race nor start a half-written bundle, and each file
 * is written under a temporary name and renamed into place.
 *
 *   node --import tsx scripts/build.ts [app-id ...] [--force]   (no app-id: every service)
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build, version as esbuildVersion, type Plugin } from 'esbuild';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const servicesDir = path.join(repoRoot, 'services');
const lockFile = path.join(repoRoot, 'node_modules', '.cache', 'caregrid-build.lock');
const thisFile = path.relative(repoRoot, fileURLToPath(import.meta.url));

/** Every service: a folder of services/ with src/main.ts. */
export function serviceIds(): string[] {
  return readdirSync(servicesDir)
    .filter((id) => existsSync(path.join(servicesDir, id, 'src', 'main.ts')))
    .sort();
}

const distOf = (id: string) => path.join(servicesDir, id, 'dist');
const migrationsOf = (id: string) => path.join(servicesDir, id, 'src', 'data', 'migrations');

type Stamp = { key: string; inputs: string[] };

/** Inputs besides the modules esbuild reads: they decide resolution and output, or are copied. */
function extraInputs(id: string): string[] {
  const manifests = ['package.json', 'tsconfig.base.json', thisFile];
  for (const dir of ['packages', 'services'])
    for (const name of readdirSync(path.join(repoRoot, dir)))
      if (existsSync(path.join(repoRoot, dir, name, 'package.json'))) manifests.push(`${dir}/${name}/package.json`);
  const migrations = existsSync(migrationsOf(id))
    ? readdirSync(migrationsOf(id)).map((f) => path.relative(repoRoot, path.join(migrationsOf(id), f)))
    : [];
  return [...manifests, ...migrations];
}

/** A hash of the inputs' names and contents (undefined when one of them is gone: a rebuild). */
function keyOf(id: string, inputs: string[]): string | undefined {
  const hash = createHash('sha256').update(`esbuild ${esbuildVersion}\n`);
  for (const input of [...new Set([...inputs, ...extraInputs(id)])].sort()) {
    const file = path.join(repoRoot, input);
    if (!existsSync(file)) return undefined;
    hash.update(`${input}\n`).update(readFileSync(file)).update('\n');
  }
  return hash.digest('hex');
}

/** Whether services/<id>/dist holds the build of the current sources. */
export function isFresh(id: string): boolean {
  const stampFile = path.join(distOf(id), 'build.json');
  if (!existsSync(stampFile) || !existsSync(path.join(distOf(id), 'main.js'))) return false;
  const stamp = JSON.parse(readFileSync(stampFile, 'utf8')) as Stamp;
  return keyOf(id, stamp.inputs) === stamp.key;
}

/** Third-party packages stay imports of node_modules; our workspace packages are bundled in. */
const externalPackages: Plugin = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@caregrid/') || args.kind === 'entry-point' ? undefined : { path: args.path, external: true },
    );
  },
};

/** Writes a file under a temporary name and renames it into place: a reader sees the old or the new one, whole. */
function writeAtomically(file: string, contents: string | Uint8Array): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, file);
}

/** Builds one service into services/<id>/dist (no lock: see ensureBuilt). */
export async function buildService(id: string): Promise<void> {
  const dist = distOf(id);
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: [path.join(servicesDir, id, 'src', 'main.ts')],
    outfile: path.join(dist, 'main.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // The compiler options of the repository (not whichever tsconfig.json is nearest), so a build
    // stage with only tsconfig.base.json compiles exactly as a checkout does.
    tsconfig: path.join(repoRoot, 'tsconfig.base.json'),
    // Error classes name themselves from new.target.name: no renaming of classes and functions.
    keepNames: true,
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    write: false,
    logLevel: 'warning',
    plugins: [externalPackages],
  });
  for (const output of result.outputFiles) writeAtomically(output.path, output.contents);
  // The migrations beside the bundle, and none that was removed from the sources.
  const sources = existsSync(migrationsOf(id)) ? readdirSync(migrationsOf(id)) : [];
  const copied = path.join(dist, 'data', 'migrations');
  for (const file of sources) writeAtomically(path.join(copied, file), readFileSync(path.join(migrationsOf(id), file)));
  for (const file of existsSync(copied) ? readdirSync(copied) : []) if (!sources.includes(file)) rmSync(path.join(copied, file));
  const inputs = Object.keys(result.metafile.inputs).filter((input) => !input.startsWith('node_modules/'));
  writeAtomically(path.join(dist, 'build.json'), `${JSON.stringify({ key: keyOf(id, inputs) ?? '', inputs } satisfies Stamp, null, 2)}\n`);
}

/** Holds the build lock while `run` runs; waits for another holder, and takes over a dead one's lock. */
async function withLock<T>(run: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  mkdirSync(path.dirname(lockFile), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      closeSync(openSync(lockFile, 'wx'));
      writeFileSync(lockFile, String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // The holder may remove the lock between our EEXIST and this read: then try again at once.
      const holder = readLockHolder();
      if (holder === 'released') continue;
      if (Number.isInteger(holder) && !isAlive(holder)) rmSync(lockFile, { force: true });
      else if (Date.now() > deadline) throw new Error(`build lock ${lockFile} held by process ${holder} for ${timeoutMs} ms`);
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  try {
    return await run();
  } finally {
    rmSync(lockFile, { force: true });
  }
}

/** The lock holder's pid (NaN while it is still writing it), or 'released' when the lock is gone. */
function readLockHolder(): number | 'released' {
  try {
    return Number(readFileSync(lockFile, 'utf8') || NaN);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'released';
    throw error;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Builds the services whose dist is missing or stale (all of them with `force`); returns the ones it built. */
export async function ensureBuilt(ids: string[] = serviceIds(), options: { force?: boolean } = {}): Promise<string[]> {
  // The common case, nothing changed, needs no lock: a fresh dist is only ever replaced by a fresh one.
  if (!options.force && ids.every(isFresh)) return [];
  return withLock(async () => {
    const stale = ids.filter((id) => options.force || !isFresh(id));
    await Promise.all(stale.map(buildService));
    return stale;
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { values, positionals } = parseArgs({ options: { force: { type: 'boolean', default: false } }, allowPositionals: true });
  const unknown = positionals.filter((id) => !serviceIds().includes(id));
  if (unknown.length > 0) {
    console.error(`not a service (services/<id>/src/main.ts): ${unknown.join(', ')}`);
    process.exit(2);
  }
  const started = Date.now();
  const built = await ensureBuilt(positionals.length > 0 ? positionals : serviceIds(), { force: values.force });
  console.log(built.length > 0 ? `built ${built.join(', ')} in ${Date.now() - started} ms` : 'every service is up to date');
}
