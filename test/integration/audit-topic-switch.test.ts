/**
 * An existing deployment switching to per-service audit topics: the audit entries still waiting in
 * a service's outbox under the old shared topic `audit`, which nobody may publish any more, move
 * to the service's own `audit.<app-id>` when the service starts (its migration); entries already
 * published and other events stay as they are. Real PostgreSQL and MariaDB.
 */
import { freshDatabase } from '@caregrid/devkit';
import { migrate, uuidv7 } from '@caregrid/platform';
import {
  createMysqlPool,
  migrateMysql,
  mysqlMigrationTarget,
  mysqlOutboxClaimsMigration,
  mysqlOutboxMigration,
  mysqlOutboxTraceMigration,
} from '@caregrid/platform/mysql';
import {
  createPgPool,
  migratePostgres,
  pgIdempotencyMigration,
  pgMigrationTarget,
  pgOutboxClaimsMigration,
  pgOutboxMigration,
  pgOutboxTraceMigration,
} from '@caregrid/platform/postgres';

/** Rows as the outbox of a service before the switch held them: topic, data, published or not. */
const before = () => {
  const row = (topic: string, type: string, service: string, published: boolean) => ({
    id: uuidv7(),
    topic,
    type,
    data: JSON.stringify({ id: uuidv7(), service }),
    published,
  });
  return [
    row('audit', 'caregrid.audit.recorded.v1', 'billing-service', false),
    row('audit', 'caregrid.audit.recorded.v1', 'billing-service', true),
    row('invoices', 'caregrid.invoice.issued.v1', 'billing-service', false),
  ];
};
const expectedTopics = ['audit.billing-service', 'audit', 'invoices'];

it('PostgreSQL: pending entries of `audit` move to the service’s own topic, nothing else changes', async () => {
  const database = await freshDatabase('postgres', 'audit_topic_switch');
  const pool = createPgPool(database.url, { max: 2 });
  try {
    await migrate(pgMigrationTarget(pool), [pgOutboxMigration, pgOutboxClaimsMigration, pgOutboxTraceMigration, pgIdempotencyMigration]);
    const rows = before();
    for (const r of rows) {
      await pool.query(
        `INSERT INTO outbox (id, topic, type, subject, data, published_at) VALUES ($1, $2, $3, 's', $4, ${r.published ? 'now()' : 'NULL'})`,
        [r.id, r.topic, r.type, r.data],
      );
    }
    await migratePostgres(pool, []);
    const topics = await Promise.all(
      rows.map(async (r) => (await pool.query('SELECT topic FROM outbox WHERE id = $1', [r.id])).rows[0].topic),
    );
    expect(topics).toEqual(expectedTopics);
  } finally {
    await pool.end();
    await database.drop();
  }
});

it('MariaDB: the same', async () => {
  const database = await freshDatabase('mysql', 'audit_topic_switch');
  const pool = createMysqlPool(database.url, { max: 2 });
  try {
    await migrate(mysqlMigrationTarget(pool), [mysqlOutboxMigration, mysqlOutboxClaimsMigration, mysqlOutboxTraceMigration]);
    const rows = before();
    for (const r of rows) {
      await pool.query(
        `INSERT INTO outbox (id, topic, type, subject, data, published_at) VALUES (?, ?, ?, 's', ?, ${r.published ? 'CURRENT_TIMESTAMP(3)' : 'NULL'})`,
        [r.id, r.topic, r.type, r.data],
      );
    }
    await migrateMysql(pool, []);
    const topics: string[] = [];
    for (const r of rows) {
      const [found] = await pool.query<import('mysql2').RowDataPacket[]>('SELECT topic FROM outbox WHERE id = ?', [r.id]);
      topics.push(String(found[0]!.topic));
    }
    expect(topics).toEqual(expectedTopics);
  } finally {
    await pool.end();
    await database.drop();
  }
});
