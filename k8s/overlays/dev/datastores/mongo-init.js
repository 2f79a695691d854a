// First start of the dev MongoDB (docker-entrypoint-initdb.d, run by mongosh as root), for the dev
// overlay (ConfigMap `mongo-init`) and Docker Compose (its config `mongo-init`). Passwords come
// from the mongo container's environment: Secret `mongo-init` here, `.env` in Compose.
// Checked offline (no mongod in the tests): test/deploy/mongo-init.test.ts.
/* global db */

/** A password variable; without it the first start fails instead of making a login without one. */
function password(name) {
  const value = process.env[name];
  if (!value) throw new Error(`mongo-init: ${name} is not set`);
  return value;
}

// analytics_service: its own database only; no right on the audit trail's.
db.getSiblingDB('analytics_service').createUser({
  user: 'analytics_service',
  pwd: password('ANALYTICS_DB_PASSWORD'),
  roles: [{ role: 'readWrite', db: 'analytics_service' }],
});

// The audit trail, in its own database. Its logins cannot create collections or indexes, so they
// are made here: the layout analytics-service checks at start
// (packages/platform/src/data/audit-trail-layout.ts, AUDIT_TRAIL_LAYOUT).
const audit = db.getSiblingDB('analytics_audit');
const LAYOUT = {
  audit: [
    { at: -1, _id: -1 },
    { patientIds: 1, at: -1 },
    { actorId: 1, at: -1 },
    { service: 1, seq: 1 },
  ],
  audit_chain_moves: [{ service: 1, from: -1 }],
  audit_checkpoints: [],
};
for (const [collection, indexes] of Object.entries(LAYOUT)) {
  audit.createCollection(collection);
  for (const key of indexes) audit.getCollection(collection).createIndex(key);
}

const on = (collection, actions) => ({ resource: { db: 'analytics_audit', collection }, actions });
// The writer adds entries and reads them back: it can neither remove nor change one.
audit.createRole({
  role: 'auditWriter',
  privileges: [
    on('audit', ['find', 'insert', 'listIndexes']),
    on('audit_chain_moves', ['find', 'insert', 'listIndexes']),
    on('audit_checkpoints', ['find', 'listIndexes']),
  ],
  roles: [],
});
// The daily retention purge: removes the oldest entries and moves each chain's checkpoint past them.
audit.createRole({
  role: 'auditRetention',
  privileges: [on('audit', ['find', 'remove', 'listIndexes']), on('audit_checkpoints', ['find', 'insert', 'update', 'listIndexes'])],
  roles: [],
});
audit.createUser({
  user: 'analytics_audit_writer',
  pwd: password('ANALYTICS_AUDIT_WRITER_PASSWORD'),
  roles: [{ role: 'auditWriter', db: 'analytics_audit' }],
});
audit.createUser({
  user: 'analytics_audit_retention',
  pwd: password('ANALYTICS_AUDIT_RETENTION_PASSWORD'),
  roles: [{ role: 'auditRetention', db: 'analytics_audit' }],
});
