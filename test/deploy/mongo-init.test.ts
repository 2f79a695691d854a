/**
 * The dev MongoDB's logins (Compose and the Kubernetes dev overlay share one init script): the
 * audit trail lives in its own database, where analytics-service's writer may only add and read
 * entries and its retention login only remove old entries and move checkpoints; the service's own
 * user has no right there. Neither audit login can create collections or indexes, so the script
 * makes the layout analytics-service checks at start. Run offline (test/deploy/mongo-init.ts).
 */
import { readFileSync } from 'node:fs';
import { AUDIT_TRAIL_DATABASE, AUDIT_TRAIL_LAYOUT } from '../../packages/platform/src/data/audit-trail-layout.js';
import { MONGO_INIT_FILE, type MongoInitEffects, runMongoInit } from './mongo-init.js';

const ENV = {
  ANALYTICS_DB_PASSWORD: 'service-password',
  ANALYTICS_AUDIT_WRITER_PASSWORD: 'writer-password',
  ANALYTICS_AUDIT_RETENTION_PASSWORD: 'retention-password',
};
const script = readFileSync(MONGO_INIT_FILE, 'utf8');
const sorted = <T>(items: T[]) => [...items].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

/** Per role: collection → its actions, sorted. */
const actionsOf = (effects: MongoInitEffects, role: string) => {
  const found = effects.roles.filter((r) => r.role === role);
  expect(found.map((r) => [r.db, r.roles])).toEqual([[AUDIT_TRAIL_DATABASE, []]]);
  return Object.fromEntries(
    found[0]!.privileges.map((p) => {
      expect(p.resource.db).toBe(AUDIT_TRAIL_DATABASE);
      return [p.resource.collection, [...p.actions].sort()];
    }),
  );
};

describe('mongo-init.js', () => {
  let effects: MongoInitEffects;
  beforeAll(() => {
    effects = runMongoInit(script, ENV);
  });

  it('creates exactly the audit trail layout: its collections and indexes, nothing else', () => {
    expect(sorted(effects.collections)).toEqual(
      sorted(Object.keys(AUDIT_TRAIL_LAYOUT).map((name) => ({ db: AUDIT_TRAIL_DATABASE, name }))),
    );
    const expected = Object.entries(AUDIT_TRAIL_LAYOUT).flatMap(([collection, indexes]) =>
      indexes.map((key) => ({ db: AUDIT_TRAIL_DATABASE, collection, key: Object.entries(key) })),
    );
    expect(sorted(effects.indexes)).toEqual(sorted(expected));
  });

  it('the writer may insert and read the trail and read checkpoints: no remove or update anywhere', () => {
    expect(actionsOf(effects, 'auditWriter')).toEqual({
      audit: ['find', 'insert', 'listIndexes'],
      audit_chain_moves: ['find', 'insert', 'listIndexes'],
      audit_checkpoints: ['find', 'listIndexes'],
    });
  });

  it('retention may remove entries and move checkpoints, never insert or change an entry', () => {
    expect(actionsOf(effects, 'auditRetention')).toEqual({
      audit: ['find', 'listIndexes', 'remove'],
      audit_checkpoints: ['find', 'insert', 'listIndexes', 'update'],
    });
    expect(sorted(effects.roles.map((r) => r.role))).toEqual(['auditRetention', 'auditWriter']);
  });

  it('creates the three logins with their passwords; only the audit logins reach the audit database', () => {
    expect(sorted(effects.users)).toEqual(
      sorted([
        {
          db: 'analytics_service',
          user: 'analytics_service',
          pwd: ENV.ANALYTICS_DB_PASSWORD,
          roles: [{ role: 'readWrite', db: 'analytics_service' }],
        },
        {
          db: AUDIT_TRAIL_DATABASE,
          user: 'analytics_audit_writer',
          pwd: ENV.ANALYTICS_AUDIT_WRITER_PASSWORD,
          roles: [{ role: 'auditWriter', db: AUDIT_TRAIL_DATABASE }],
        },
        {
          db: AUDIT_TRAIL_DATABASE,
          user: 'analytics_audit_retention',
          pwd: ENV.ANALYTICS_AUDIT_RETENTION_PASSWORD,
          roles: [{ role: 'auditRetention', db: AUDIT_TRAIL_DATABASE }],
        },
      ]),
    );
  });

  it.each(Object.keys(ENV))('stops at first start without %s rather than make a login without a password', (name) => {
    expect(() => runMongoInit(script, { ...ENV, [name]: undefined })).toThrow(name);
  });
});
