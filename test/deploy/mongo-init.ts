/**
 * The dev MongoDB's init script (k8s/overlays/dev/datastores/mongo-init.js, also Compose's
 * `mongo-init` config), run offline: no mongod here, so it runs in a node `vm` context against a
 * `db` that records what mongosh would be asked to do. A call the recorder does not know fails.
 */
import path from 'node:path';
import vm from 'node:vm';
import { repoRoot } from '@caregrid/devkit';

export const MONGO_INIT_FILE = path.join(repoRoot, 'k8s', 'overlays', 'dev', 'datastores', 'mongo-init.js');

export type RoleRef = { role: string; db: string };
export type Privilege = { resource: { db: string; collection: string }; actions: string[] };
export type MongoInitEffects = {
  users: { db: string; user: string; pwd: unknown; roles: RoleRef[] }[];
  roles: { db: string; role: string; privileges: Privilege[]; roles: unknown[] }[];
  collections: { db: string; name: string; options?: unknown }[];
  /** Index keys as [field, direction] pairs: their order is the index's. */
  indexes: { db: string; collection: string; key: [string, unknown][]; options?: unknown }[];
};

/** A copy out of the vm's realm, so jest compares plain values. */
const plain = <T>(value: unknown): T => JSON.parse(JSON.stringify(value)) as T;

/** An object whose unknown members throw, so the script cannot do what the checks do not see. */
function strict<T extends object>(what: string, members: T): T {
  return new Proxy(members, {
    get(target, name) {
      if (typeof name === 'symbol' || name in target) return target[name as keyof T];
      throw new Error(`the recording ${what} has no ${String(name)}`);
    },
  });
}

/** Runs the script as mongosh would at the container's first start, with `env` as its environment. */
export function runMongoInit(script: string, env: Record<string, string | undefined>): MongoInitEffects {
  const effects: MongoInitEffects = { users: [], roles: [], collections: [], indexes: [] };
  const database = (name: string): object =>
    strict(`db ${name}`, {
      getName: () => name,
      getSiblingDB: (other: string) => database(other),
      createUser: (spec: object) => {
        effects.users.push({ db: name, ...plain<Omit<MongoInitEffects['users'][number], 'db'>>(spec) });
        return { ok: 1 };
      },
      createRole: (spec: object) => {
        effects.roles.push({ db: name, ...plain<Omit<MongoInitEffects['roles'][number], 'db'>>(spec) });
        return { ok: 1 };
      },
      createCollection: (collection: string, options?: object) => {
        effects.collections.push({ db: name, name: collection, ...(options === undefined ? {} : { options: plain(options) }) });
        return { ok: 1 };
      },
      getCollection: (collection: string) =>
        strict(`collection ${name}.${collection}`, {
          createIndex: (key: object, options?: object) => {
            effects.indexes.push({
              db: name,
              collection,
              key: Object.entries(plain<object>(key)),
              ...(options === undefined ? {} : { options: plain(options) }),
            });
            return Object.entries(key).flat().join('_');
          },
        }),
    });
  // mongosh's initial database in the image's entrypoint: MONGO_INITDB_DATABASE, by default `test`.
  vm.runInNewContext(script, { db: database('test'), process: { env: { ...env } } }, { filename: MONGO_INIT_FILE });
  return effects;
}

/** Who a MongoDB URL logs in as, against the users the script created. */
export function loginOf(url: string, effects: MongoInitEffects) {
  const parsed = new URL(url);
  const user = effects.users.find((u) => u.user === decodeURIComponent(parsed.username) && u.db === parsed.searchParams.get('authSource'));
  return {
    host: parsed.hostname,
    database: parsed.pathname.slice(1),
    user: user ? `${user.db}.${user.user}` : `no user ${parsed.username} in ${parsed.searchParams.get('authSource')}`,
    roles: user?.roles ?? [],
    password: user?.pwd === decodeURIComponent(parsed.password) ? 'the one it was created with' : 'another',
  };
}

/** analytics-service's secret: each URL key with the login it must use. */
export const analyticsLogins = (host: string) => ({
  databaseUrl: {
    host,
    database: 'analytics_service',
    user: 'analytics_service.analytics_service',
    roles: [{ role: 'readWrite', db: 'analytics_service' }],
    password: 'the one it was created with',
  },
  auditWriterUrl: {
    host,
    database: 'analytics_audit',
    user: 'analytics_audit.analytics_audit_writer',
    roles: [{ role: 'auditWriter', db: 'analytics_audit' }],
    password: 'the one it was created with',
  },
  auditRetentionUrl: {
    host,
    database: 'analytics_audit',
    user: 'analytics_audit.analytics_audit_retention',
    roles: [{ role: 'auditRetention', db: 'analytics_audit' }],
    password: 'the one it was created with',
  },
});
