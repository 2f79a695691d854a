/**
 * Each local database server is real and reachable with the credentials the
 * provisioning hands out; a test file gets a database of its own.
 */
import { MongoClient } from 'mongodb';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { createMysqlPool, migrateMysql, mysqlMigrationTarget } from '@caregrid/platform/mysql';
import { dropDatabase, freshDatabase, provisionDatabase, uniqueName } from '@caregrid/devkit';

it('PostgreSQL: a provisioned role owns its database; re-provisioning rotates the password', async () => {
  const name = `t_${uniqueName('pg').replace(/-/g, '_')}`;
  const first = await provisionDatabase('postgres', name, 'first-password');
  const client = new pg.Client({ connectionString: first });
  await client.connect();
  await client.query('CREATE TABLE t (id int PRIMARY KEY)');
  await client.query('INSERT INTO t VALUES (1)');
  expect((await client.query('SELECT current_user AS u, count(*)::int AS n FROM t')).rows[0]).toEqual({ u: name, n: 1 });
  await client.end();

  const second = await provisionDatabase('postgres', name, 'second-password');
  await expect(new pg.Client({ connectionString: first }).connect()).rejects.toThrow(/password authentication failed/);
  const again = new pg.Client({ connectionString: second });
  await again.connect();
  expect((await again.query('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(1); // data kept
  await again.end();
  await dropDatabase('postgres', name);
});

it('MySQL wire server (MariaDB locally, MySQL in containers): a provisioned user works in its own database only', async () => {
  const db = await freshDatabase('mysql', 'my');
  const connection = await mysql.createConnection(db.url);
  await connection.query('CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20))');
  await connection.execute('INSERT INTO t VALUES (?, ?)', [1, 'ada']);
  const [rows] = await connection.query('SELECT name FROM t');
  expect(rows).toEqual([{ name: 'ada' }]);
  await expect(connection.query('CREATE DATABASE other_db')).rejects.toThrow(/denied/);
  await connection.end();
  await db.drop();
});

it("MySQL migrations lock their own database only: one stuck in another database's migration does not hold them up", async () => {
  const [stuck, other] = [await freshDatabase('mysql', 'lock_a'), await freshDatabase('mysql', 'lock_b')];
  const [stuckPool, otherPool] = [createMysqlPool(stuck.url), createMysqlPool(other.url)];
  let release!: () => void;
  let locked!: () => void;
  const lockTaken = new Promise<void>((resolve) => (locked = resolve));
  const held = mysqlMigrationTarget(stuckPool).withLock(
    () =>
      new Promise<void>((resolve) => {
        release = resolve;
        locked();
      }),
  );
  let migrated: Promise<unknown> | undefined;
  try {
    await lockTaken;
    migrated = migrateMysql(otherPool, []);
    const waited = new Promise((resolve) => setTimeout(resolve, 10_000, 'still waiting')).then(String);
    expect(await Promise.race([migrated.then(() => 'migrated'), waited])).toBe('migrated');
  } finally {
    release?.();
    await held;
    await migrated?.catch(() => undefined);
    await Promise.all([stuckPool.end(), otherPool.end()]);
    await Promise.all([stuck.drop(), other.drop()]);
  }
});

it('MongoDB wire server (FerretDB locally, MongoDB in containers): the MongoDB driver stores and finds documents, and unique indexes hold', async () => {
  const db = await freshDatabase('mongodb', 'mongo');
  const client = new MongoClient(db.url, { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
  const events = client.db().collection('events');
  await events.createIndex({ eventId: 1 }, { unique: true });
  await events.insertOne({ eventId: 'e1', n: 1 });
  await expect(events.insertOne({ eventId: 'e1', n: 2 })).rejects.toMatchObject({ code: 11000 });
  expect(await events.find({}, { projection: { _id: 0 } }).toArray()).toEqual([{ eventId: 'e1', n: 1 }]);
  await client.db().dropDatabase();
  await client.close();
});
