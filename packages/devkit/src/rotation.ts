import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot, sidecarEnvironment } from './paths.js';

/**
 * Readiness-aware routing for local sidecars, the part of Kubernetes' endpoints
 * controller that self-hosted Dapr lacks. The SQLite name resolver routes to
 * every sidecar that renewed its row lately, whatever its app's state, and a
 * stopping daprd deregisters only after it has closed its listener: a caller
 * keeps resolving to a replica whose app is draining, restarting or dead.
 *
 * A sidecar's row is taken out of rotation by renaming its app_id (the
 * sidecar's renewals match registration_id and address, so they go on without
 * noticing, and lookups by app-id skip the row) and put back by naming it again.
 */
export type Registry = { file: string; table: string };

/**
 * The SQLite registry a daprd Configuration names, if it uses one. `${VAR}` in
 * the connection string is expanded from `env` as daprd expands it from its own
 * environment (the launcher's sidecars get sidecarEnvironment()).
 */
export function registryOf(
  configFile: string,
  env: Record<string, string | undefined> = { ...process.env, ...sidecarEnvironment() },
): Registry | undefined {
  const config = parseAllDocuments(readFileSync(configFile, 'utf8'))[0]?.toJS() as
    { spec?: { nameResolution?: { component?: string; configuration?: Record<string, string> } } } | undefined;
  const nameResolution = config?.spec?.nameResolution;
  if (nameResolution?.component !== 'sqlite' || !nameResolution.configuration?.connectionString) return undefined;
  // Relative paths are daprd's: it runs in the repository root (daprd.ts).
  const connection = nameResolution.configuration.connectionString.replace(/\$\{(\w+)\}/g, (_, name: string) => env[name] ?? '');
  const file = path.resolve(repoRoot, connection.replace(/^file:/, '').split('?')[0]!);
  const table = nameResolution.configuration.tableName ?? 'hosts';
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(table) ? { file, table } : undefined;
}

const OUT_OF_ROTATION = '~out-of-rotation';

/**
 * Puts the row of the sidecar listening on `internalPort` in or out of `appId`'s
 * rotation. Resolves false when there was no such row (sidecar not registered yet).
 */
export function setInRotation(registry: Registry, appId: string, internalPort: number, inRotation: boolean): Promise<boolean> {
  const [from, to] = inRotation ? [`${appId}${OUT_OF_ROTATION}`, appId] : [appId, `${appId}${OUT_OF_ROTATION}`];
  const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;
  const sql =
    `UPDATE ${registry.table} SET app_id = ${quote(to)} ` +
    `WHERE app_id = ${quote(from)} AND address LIKE ${quote(`%:${Math.trunc(internalPort)}`)}; SELECT changes();`;
  return new Promise((resolve, reject) => {
    // The sidecars hold the database open in WAL mode; wait for their short write locks.
    execFile('sqlite3', ['-cmd', '.timeout 5000', registry.file, sql], { timeout: 10_000 }, (error, stdout) => {
      if (error) reject(new Error(`sqlite3 on ${registry.file}: ${error.message}`));
      else resolve(Number(stdout.trim()) > 0);
    });
  });
}

/** Whether the app-id resolves to the sidecar on `internalPort` (for tests and the status table). */
export function isInRotation(registry: Registry, appId: string, internalPort: number): Promise<boolean> {
  const sql = `SELECT count(*) FROM ${registry.table} WHERE app_id = '${appId.replace(/'/g, "''")}' AND address LIKE '%:${Math.trunc(internalPort)}';`;
  return new Promise((resolve, reject) => {
    execFile('sqlite3', ['-cmd', '.timeout 5000', registry.file, sql], { timeout: 10_000 }, (error, stdout) => {
      if (error) reject(new Error(`sqlite3 on ${registry.file}: ${error.message}`));
      else resolve(Number(stdout.trim()) > 0);
    });
  });
}
