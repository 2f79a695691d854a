import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';

export type Migration = { version: string; sql: string; checksum: string };

/** Where migrations are applied: one engine's lock, bookkeeping table and DDL. */
export interface MigrationTarget {
  withLock<T>(fn: () => Promise<T>): Promise<T>;
  applied(): Promise<Map<string, string>>;
  apply(migration: Migration): Promise<void>;
}

export const migration = (version: string, sql: string): Migration => ({
  version,
  sql,
  checksum: createHash('sha256').update(sql).digest('hex'),
});

/** `NNN_description.sql` files of a directory (a path, or a URL such as `new URL('data/migrations/', import.meta.url)`), in file-name order. */
export function loadMigrations(location: string | URL): Migration[] {
  const dir = location instanceof URL ? fileURLToPath(location) : location;
  return readdirSync(dir)
    .filter((file) => /^\d{3,}_[\w-]+\.sql$/.test(file))
    .sort()
    .map((file) => migration(file.replace(/\.sql$/, ''), readFileSync(path.join(dir, file), 'utf8')));
}

export class MigrationError extends Error {}

/**
 * Applies, in the given order and under a database lock (so replicas starting
 * together do not race), every migration not applied yet. A migration edited
 * after it was applied is refused: history is append-only.
 */
export async function migrate(target: MigrationTarget, migrations: Migration[], logger?: Logger): Promise<string[]> {
  const versions = new Set<string>();
  for (const m of migrations) {
    if (versions.has(m.version)) throw new MigrationError(`migration ${m.version} is listed twice`);
    versions.add(m.version);
  }
  return target.withLock(async () => {
    const applied = await target.applied();
    for (const [version, checksum] of applied) {
      const known = migrations.find((m) => m.version === version);
      if (known && known.checksum !== checksum) throw new MigrationError(`migration ${version} was changed after it was applied`);
    }
    const pending = migrations.filter((m) => !applied.has(m.version));
    for (const m of pending) {
      logger?.info({ migration: m.version }, 'applying migration');
      await target.apply(m);
    }
    return pending.map((m) => m.version);
  });
}
