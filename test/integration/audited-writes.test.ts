/**
 * The platform's write helpers against real PostgreSQL and MariaDB, in a request to an audited
 * write: the request's audit entry goes into the outbox with the change (same transaction, or
 * same statement), or the change is not made and the write fails as unavailable (503). A write
 * that commits nothing leaves the entry to be written after the handler, as before.
 */
import type { Request } from 'express';
import type { AuditEntry } from '@caregrid/contracts';
import { freshDatabase } from '@caregrid/devkit';
import { AuditNote, DependencyUnavailableError, migration, runWithContext, uuidv7 } from '@caregrid/platform';
import { createMysqlPool, inMysqlTransaction, migrateMysql, type Pool as MysqlPool } from '@caregrid/platform/mysql';
import { createPgPool, inTransaction, migratePostgres, writeWithOutboxEvent, type Pool } from '@caregrid/platform/postgres';

const things = migration('test_001_things', 'CREATE TABLE things (id varchar(36) PRIMARY KEY)');
const event = (id: string) => ({ id: uuidv7(), topic: 'things', type: 'test.thing.created.v1', subject: id, data: { id } });

/**
 * Runs `write` as the handler of an audited create answering 201 would, then ends the request
 * as the router does (the entry written after the handler unless the write committed it).
 */
async function asAuditedCreate<T>(write: () => Promise<T>): Promise<{ result: T | Error; entriesAfter: AuditEntry[]; requestId: string }> {
  const entriesAfter: AuditEntry[] = [];
  const note = new AuditNote(async (entry) => void entriesAfter.push(entry), {
    service: 'test',
    resource: 'patient',
    action: 'create',
    caller: { kind: 'service', appId: 'test' },
    req: { params: {}, header: () => undefined } as unknown as Request,
    successStatus: 201,
  });
  const requestId = uuidv7();
  const result = await runWithContext(
    { requestId, traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`, identity: {}, audit: note },
    () => write().catch((error: Error) => error),
  );
  await note.write(result instanceof Error ? 503 : 201);
  return { result, entriesAfter, requestId };
}

describe('PostgreSQL', () => {
  let pool: Pool;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const database = await freshDatabase('postgres', 'audited_writes');
    drop = database.drop;
    pool = createPgPool(database.url, { max: 2 });
    await migratePostgres(pool, [things]);
  });
  afterAll(async () => {
    await pool?.end();
    await drop?.();
  });

  const insertInTransaction = (id: string) => () =>
    inTransaction(pool, async (client) => (await client.query('INSERT INTO things VALUES ($1) RETURNING *', [id])).rows);
  const insertInOneStatement =
    (id: string, where = 'true') =>
    () =>
      writeWithOutboxEvent(pool, `INSERT INTO things SELECT $1 WHERE ${where} RETURNING *`, [id], event(id));
  /** The transactions that wrote the thing and the request's entry, and the entry's status. */
  const stored = async (id: string, requestId: string) =>
    (
      await pool.query<{ thing: string; entry: string | null; status: number | null }>(
        `SELECT t.xmin::text AS thing, o.xmin::text AS entry, (o.data->>'status')::int AS status
           FROM things t LEFT JOIN outbox o ON o.topic LIKE 'audit.%' AND o.data->>'requestId' = $2
          WHERE t.id = $1`,
        [id, requestId],
      )
    ).rows;

  it.each([
    ['inTransaction', insertInTransaction],
    ['writeWithOutboxEvent', (id: string) => insertInOneStatement(id)],
  ])('%s: the entry commits in the transaction of the change, allowed 201, and is not written again', async (_, insert) => {
    const id = uuidv7();
    const { result, entriesAfter, requestId } = await asAuditedCreate(insert(id));
    expect(result).not.toBeInstanceOf(Error);
    const rows = await stored(id, requestId);
    expect(rows).toEqual([{ thing: expect.any(String), entry: rows[0]?.thing, status: 201 }]);
    expect(entriesAfter).toEqual([]);
  });

  it('a statement that writes no row commits no entry: it is written after the handler', async () => {
    const id = uuidv7();
    const { result, entriesAfter } = await asAuditedCreate(insertInOneStatement(id, 'false'));
    expect(result).toEqual([]);
    expect(entriesAfter).toEqual([expect.objectContaining({ action: 'create', status: 201 })]);
  });

  it('an entry the outbox refuses: the change is not made, and the write is unavailable (503)', async () => {
    await pool.query("ALTER TABLE outbox ADD CONSTRAINT test_refuses_audit CHECK (topic NOT LIKE 'audit%') NOT VALID");
    try {
      for (const insert of [insertInTransaction, (id: string) => insertInOneStatement(id)]) {
        const id = uuidv7();
        const { result } = await asAuditedCreate(insert(id));
        expect(result).toBeInstanceOf(DependencyUnavailableError);
        expect((await pool.query('SELECT 1 FROM things WHERE id = $1', [id])).rowCount).toBe(0);
      }
    } finally {
      await pool.query('ALTER TABLE outbox DROP CONSTRAINT test_refuses_audit');
    }
  });
});

describe('MariaDB', () => {
  let pool: MysqlPool;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const database = await freshDatabase('mysql', 'audited_writes');
    drop = database.drop;
    pool = createMysqlPool(database.url, { max: 2 });
    await migrateMysql(pool, [things]);
  });
  afterAll(async () => {
    await pool?.end();
    await drop?.();
  });

  const insert = (id: string) => () => inMysqlTransaction(pool, (connection) => connection.execute('INSERT INTO things VALUES (?)', [id]));
  const count = async (sql: string, id: string) => {
    const [rows] = await pool.query<MysqlRowCount[]>(sql, [id]);
    return Number(rows[0]!.n);
  };

  it('inMysqlTransaction: refused by the outbox, the change is not made (503); else the entry commits with it', async () => {
    // MariaDB checks a new constraint against the rows already there: this runs before any entry.
    await pool.query("ALTER TABLE outbox ADD CONSTRAINT test_refuses_audit CHECK (topic NOT LIKE 'audit%')");
    try {
      const refused = uuidv7();
      const { result } = await asAuditedCreate(insert(refused));
      expect(result).toBeInstanceOf(DependencyUnavailableError);
      expect(await count('SELECT count(*) AS n FROM things WHERE id = ?', refused)).toBe(0);
    } finally {
      await pool.query('ALTER TABLE outbox DROP CONSTRAINT test_refuses_audit');
    }

    const id = uuidv7();
    const { entriesAfter, requestId } = await asAuditedCreate(insert(id));
    expect(entriesAfter).toEqual([]);
    expect(await count('SELECT count(*) AS n FROM things WHERE id = ?', id)).toBe(1);
    const entries = "SELECT count(*) AS n FROM outbox WHERE topic LIKE 'audit.%' AND JSON_VALUE(data, '$.requestId') = ?";
    expect(await count(entries, requestId)).toBe(1);
  });
});

type MysqlRowCount = import('mysql2/promise').RowDataPacket & { n: number | string };
