/**
 * The outbox relay on the real PostgreSQL and MariaDB, publishing through a
 * real daprd to the real Kafka: claims with a lease (publishing holds no
 * transaction; a dead relay's claim is taken over), per-subject order with two
 * relays when one dies mid-batch, and poison rows parked, holding their
 * subject, re-driven — in a quiet service too — while a broker outage parks
 * nothing. Each test publishes to a topic of its own (not a CareGrid topic: no
 * other test's subscriber sees these events).
 */
import express from 'express';
import mysql from 'mysql2/promise';
import { pino } from 'pino';
import { OutboxRelay, uuidv7, type EventPublisher, type OutboxStore } from '@caregrid/platform';
import { postgresDatabase, type Pool as PgPool } from '@caregrid/platform/postgres';
import { mysqlDatabase } from '@caregrid/platform/mysql';
import {
  eventually,
  freshDatabase,
  readTopic,
  startAppWithSidecar,
  startPrivateKafka,
  uniqueName,
  type AppUnderTest,
} from '@caregrid/devkit';

const logger = pino({ level: 'silent' });

type Engine = {
  name: 'postgres' | 'mysql';
  store: OutboxStore;
  /** From another connection: can the row be locked right now (no one holds it)? */
  lockableNow: (id: string) => Promise<boolean>;
  /** An operator's fix of a row's payload. */
  setData: (id: string, data: unknown) => Promise<void>;
  pending: () => Promise<number>;
  close: () => Promise<void>;
};

async function openEngine(name: 'postgres' | 'mysql'): Promise<Engine> {
  const database = await freshDatabase(name, 'outbox');
  if (name === 'postgres') {
    const opened = await postgresDatabase([])(database.url, logger);
    const pool = opened.db as PgPool;
    return {
      name,
      store: opened.outbox,
      lockableNow: async (id) => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          await client.query('SELECT id FROM outbox WHERE id = $1 FOR UPDATE NOWAIT', [id]);
          return true;
        } catch {
          return false;
        } finally {
          await client.query('ROLLBACK').catch(() => undefined);
          client.release();
        }
      },
      setData: async (id, data) => {
        await pool.query('UPDATE outbox SET data = $2 WHERE id = $1', [id, JSON.stringify(data)]);
      },
      pending: async () => (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL')).rows[0]!.n,
      close: async () => {
        await opened.close();
        await database.drop();
      },
    };
  }
  const opened = await mysqlDatabase([])(database.url, logger);
  const pool = opened.db as mysql.Pool;
  return {
    name,
    store: opened.outbox,
    lockableNow: async (id) => {
      const connection = await pool.getConnection();
      try {
        await connection.beginTransaction();
        await connection.query('SELECT id FROM outbox WHERE id = ? FOR UPDATE NOWAIT', [id]);
        return true;
      } catch {
        return false;
      } finally {
        await connection.rollback().catch(() => undefined);
        connection.release();
      }
    },
    setData: async (id, data) => {
      await pool.query('UPDATE outbox SET data = ? WHERE id = ?', [JSON.stringify(data), id]);
    },
    pending: async () => {
      const [rows] = await pool.query<mysql.RowDataPacket[]>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL');
      return Number(rows[0]!.n);
    },
    close: async () => {
      await opened.close();
      await database.drop();
    },
  };
}

type Received = { id: string; subject: string; data: { n: number } };
const received = (topic: string) => readTopic(topic) as Received[];
/** What a consumer that dedupes by CloudEvent id sees: each id once, at its first arrival. */
const firstArrivals = (messages: Received[]) => {
  const seen = new Set<string>();
  return messages.filter((m) => !seen.has(m.id) && seen.add(m.id));
};

let sidecars: AppUnderTest[] = [];
const startSidecar = (options: { components?: string[]; env?: Record<string, string> } = {}) =>
  startAppWithSidecar({ label: 'outbox-relay', createApp: () => express(), ...options }).then((app) => (sidecars.push(app), app));
/**
 * Larger than Kafka accepts (message.max.bytes, 1 MB): refused on every try. A write refuses an
 * event this large (MAX_EVENT_DATA_BYTES), so a test makes one under the store (setData): as a row
 * from before that cap, or for a broker whose limit is smaller than the cap.
 */
const tooLarge = (n: number) => ({ n, blob: 'x'.repeat(1_500_000) });

afterAll(async () => {
  await Promise.all(sidecars.map((s) => s.stop()));
  sidecars = [];
});

describe.each(['postgres', 'mysql'] as const)('outbox relay on %s', (engineName) => {
  let engine: Engine;
  let sidecar: AppUnderTest;
  let topic: string;
  const append = (subject: string, n: number, data: unknown = { n }) => {
    const id = uuidv7();
    return engine.store.append({ id, topic, type: 'caregrid.test.happened.v1', subject, data }).then(() => id);
  };
  const appendPoison = async (subject: string, n: number) => {
    const id = await append(subject, n);
    await engine.setData(id, tooLarge(n));
    return id;
  };

  beforeAll(async () => {
    engine = await openEngine(engineName);
    sidecar = await startSidecar();
  });
  afterAll(() => engine.close());
  beforeEach(() => {
    topic = uniqueName('outbox-test');
  });

  it('publishes with no transaction open: the row being published can be locked NOWAIT from another connection', async () => {
    const ids = [await append('s-1', 1), await append('s-2', 2)];
    const lockable: boolean[] = [];
    const observer: EventPublisher = {
      publish: async (event) => {
        lockable.push(await engine.lockableNow(event.id!));
        return sidecar.sidecar.publish(event);
      },
    };
    const relay = new OutboxRelay(engine.store, observer, logger, { relayId: 'nowait' });
    expect(await relay.pass()).toMatchObject({ claimed: 2, published: 2, failed: 0 });
    expect(lockable).toEqual([true, true]);
    await eventually(() => (received(topic).length === 2 ? true : undefined));
    expect(received(topic).map((m) => m.id)).toEqual(ids);
    expect(await relay.pass()).toMatchObject({ claimed: 0 });
  });

  it('appendMany (the audit trail’s group commit) adds every event in one statement, published in order with its payload and trace', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const events = [1, 2, 3].map((n) => ({
      id: uuidv7(),
      topic,
      type: 'caregrid.test.happened.v1',
      subject: `m-${n}`,
      data: { n, text: `quote " and backslash \\ ${n}` },
      traceparent,
    }));
    await engine.store.appendMany(events);
    await engine.store.appendMany([]);
    const relay = new OutboxRelay(engine.store, sidecar.sidecar, logger, { relayId: 'many' });
    expect(await relay.pass()).toMatchObject({ claimed: 3, published: 3, failed: 0 });
    await eventually(() => (received(topic).length === 3 ? true : undefined));
    expect(received(topic).map((m) => [m.id, m.subject, m.data])).toEqual(events.map((e) => [e.id, e.subject, e.data]));
  });

  it('a claim goes out in bulk: one request per wave of a topic, every subject in order, an event the broker refuses failing alone', async () => {
    const subjects = ['a', 'b', 'c', 'd'];
    const expected: Record<string, string[]> = {};
    for (let n = 1; n <= 10; n++) {
      for (const subject of subjects) (expected[subject] ??= []).push(await append(subject, n));
    }
    const poison = await appendPoison('p', 1);
    const heldBehind = await append('p', 2);
    const requests = { bulk: [] as number[], single: 0 };
    const counting: EventPublisher = {
      publish: (event) => {
        requests.single++;
        return sidecar.sidecar.publish(event);
      },
      publishBulk: (bulkTopic, events) => {
        requests.bulk.push(events.length);
        return sidecar.sidecar.publishBulk(bulkTopic, events);
      },
    };
    const relay = new OutboxRelay(engine.store, counting, logger, { relayId: 'bulk' });
    expect(await relay.pass()).toMatchObject({ claimed: 42, published: 40, failed: 1, refused: 1 });
    // Ten waves (one event of each subject apiece; the oversized one in a request of its own), and
    // the refused event's subject sits out the rest.
    expect(requests).toEqual({ bulk: [4, 1, ...Array(9).fill(4)], single: 0 });
    await eventually(() => (firstArrivals(received(topic)).length === 40 ? true : undefined));
    const arrived = firstArrivals(received(topic));
    for (const subject of subjects) expect(arrived.filter((m) => m.subject === subject).map((m) => m.id)).toEqual(expected[subject]);
    expect(arrived.map((m) => m.id)).not.toContain(poison);
    expect(arrived.map((m) => m.id)).not.toContain(heldBehind);
    // Next pass: the refused event goes alone (a suspect), its subject still waits behind it.
    expect(await relay.pass()).toMatchObject({ claimed: 2, published: 0, failed: 1, refused: 1 });
    expect(requests.single).toBe(1);
    // Fixed, it goes, and its subject after it (nothing left for the next test's relays).
    await engine.setData(poison, { n: 1 });
    expect(await relay.drain()).toMatchObject({ published: 2, failed: 0 });
    expect(await engine.pending()).toBe(0);
  });

  it('an event committed while a pass is publishing goes out right after that pass, not at the next idle tick', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let held = false;
    const slowFirst: EventPublisher = {
      publish: async (event) => {
        if (!held) {
          held = true;
          await gate;
        }
        return sidecar.sidecar.publish(event);
      },
    };
    // Idle passes a minute apart: only kicks can publish within this test.
    const relay = new OutboxRelay(engine.store, slowFirst, logger, { relayId: 'kicked', idleIntervalMs: 60_000 });
    const first = await append('k-1', 1);
    relay.start();
    await eventually(() => (held ? true : undefined));
    // Committed (and kicked, as a repository does) while the pass that claimed `first` is still publishing.
    const second = await append('k-2', 2);
    relay.kick();
    release();
    try {
      await eventually(() => (received(topic).length === 2 ? true : undefined), 10_000);
      expect(received(topic).map((m) => m.id)).toEqual([first, second]);
    } finally {
      await relay.stop();
    }
  });

  it("leaves a live claim's subject alone, takes over a dead relay's claim once its lease runs out, and keeps each subject's order", async () => {
    const [s1, s2] = [await append('s', 1), await append('s', 2)];
    // A relay claims the head of subject s for 1.5 s and dies without publishing.
    expect((await engine.store.claim('dead-relay', 1, 1_500)).map((e) => e.id)).toEqual([s1]);
    const t1 = await append('t', 1);

    const relay = new OutboxRelay(engine.store, sidecar.sidecar, logger, { relayId: 'survivor', claimMs: 10_000 });
    // s2 waits behind the claimed s1; t is free.
    expect(await relay.pass()).toMatchObject({ claimed: 1, published: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    expect(await relay.pass()).toMatchObject({ claimed: 2, published: 2 });

    await eventually(() => (received(topic).length === 3 ? true : undefined));
    expect(received(topic).map((m) => m.id)).toEqual([t1, s1, s2]);
  });

  it('parks a row the broker always refuses after N attempts; the others go out, its subject waits behind it; re-drive publishes it in order', async () => {
    const poison = await appendPoison('x', 1);
    const behind = await append('x', 2);
    const relay = new OutboxRelay(engine.store, sidecar.sidecar, logger, { relayId: 'parker', maxAttempts: 3 });

    // Alone in its pass, refused as it is: an attempt, not an outage.
    expect(await relay.pass()).toMatchObject({ published: 0, failed: 1, parked: 0 });
    expect((await engine.store.listParked({ limit: 10 })).items).toEqual([]);

    const others: string[] = [];
    for (let attempt = 2; attempt <= 3; attempt++) {
      others.push(await append(`y-${attempt}`, attempt));
      expect(await relay.pass()).toMatchObject({ published: 1, failed: 1, parked: attempt === 3 ? 1 : 0 });
    }
    const parked = await engine.store.listParked({ limit: 10 });
    expect(parked).toEqual({
      items: [
        {
          id: poison,
          topic,
          type: 'caregrid.test.happened.v1',
          subject: 'x',
          attempts: 3,
          lastError: expect.stringMatching(/.+/),
          createdAt: expect.any(String),
          parkedAt: expect.any(String),
          held: 1,
        },
      ],
      nextCursor: null,
    });

    // Parked: no longer tried, the rest flows, and x's next event does not overtake it.
    others.push(await append('y-4', 4));
    expect(await relay.pass()).toMatchObject({ claimed: 1, published: 1, failed: 0 });

    expect(await engine.store.redrive(uuidv7())).toBe(false);
    // The operator fixes the cause (here: the payload), then re-drives.
    await engine.setData(poison, { n: 1 });
    expect(await engine.store.redrive(poison)).toBe(true);
    expect(await engine.store.redrive(poison)).toBe(false);
    expect(await relay.pass()).toMatchObject({ claimed: 2, published: 2, failed: 0 });
    expect((await engine.store.listParked({ limit: 10 })).items).toEqual([]);

    await eventually(() => (received(topic).length === 5 ? true : undefined));
    expect(received(topic).map((m) => m.id)).toEqual([...others, poison, behind]);
  });

  it('parks a row the broker refuses in a quiet service too: alone in every pass, it still counts', async () => {
    const poison = await appendPoison('q', 1);
    const behind = await append('q', 2);
    const relay = new OutboxRelay(engine.store, sidecar.sidecar, logger, { relayId: 'quiet', maxAttempts: 3 });
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(await relay.pass()).toMatchObject({ published: 0, failed: 1, refused: 1, parked: attempt === 3 ? 1 : 0 });
    }
    const parked = (await engine.store.listParked({ limit: 10 })).items.find((p) => p.id === poison);
    expect(parked).toMatchObject({ attempts: 3, lastError: expect.stringMatching(/MaxMessageBytes/), held: 1 });
    // Parked: no longer tried; its subject's next event waits behind it.
    expect(await relay.pass()).toMatchObject({ claimed: 0 });

    await engine.setData(poison, { n: 1 });
    expect(await engine.store.redrive(poison)).toBe(true);
    expect(await relay.pass()).toMatchObject({ published: 2, failed: 0 });
    await eventually(() => (received(topic).length === 2 ? true : undefined));
    expect(received(topic).map((m) => m.id)).toEqual([poison, behind]);
  });

  it('a refused row does not make the relay back off: an event written while it keeps failing goes out at once', async () => {
    // Idle passes a minute apart and parking far off: only kicks publish here, while the poison keeps failing.
    const relay = new OutboxRelay(engine.store, sidecar.sidecar, logger, {
      relayId: 'no-backoff',
      idleIntervalMs: 60_000,
      maxAttempts: 100,
    });
    const poison = await appendPoison('r', 1);
    relay.start();
    try {
      // Long enough for a relay backing off after each failed pass to be waiting several seconds.
      for (let i = 0; i < 8; i++) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        relay.kick();
      }
      const written = Date.now();
      const id = await append('s', 2);
      relay.kick();
      await eventually(() => (received(topic).some((m) => m.id === id) ? true : undefined), 10_000);
      expect(Date.now() - written).toBeLessThan(2_000);
    } finally {
      await relay.stop();
      // Nothing left pending for the tests after this one.
      await engine.setData(poison, { n: 1 });
      await relay.drain();
    }
  });

  it('two relays, one dying mid-batch: every subject arrives complete and in creation order', async () => {
    const subjects = Array.from({ length: 12 }, (_, i) => `subject-${i}`);
    const rounds = 15;
    // The second replica has a sidecar of its own, as in production.
    const other = await startSidecar();
    let published = 0;
    const dies: EventPublisher = {
      // After 10 events this relay hangs for good in the middle of a batch, its claims left behind.
      publish: (event) => (++published > 10 ? new Promise<string>(() => undefined) : sidecar.sidecar.publish(event)),
    };
    const options = { batchSize: 10, idleIntervalMs: 50, claimMs: 2_000 };
    const a = new OutboxRelay(engine.store, dies, logger, { ...options, relayId: 'replica-a' });
    const b = new OutboxRelay(engine.store, other.sidecar, logger, { ...options, relayId: 'replica-b' });
    a.start();
    b.start();
    try {
      // Updates keep coming while both relay.
      for (let n = 1; n <= rounds; n++) {
        for (const subject of subjects) await append(subject, n);
        a.kick();
        b.kick();
      }
      const total = subjects.length * rounds;
      await eventually(async () => ((await engine.pending()) === 0 ? true : undefined), 60_000);
      expect(published).toBe(11); // replica A did die mid-batch
      const messages = await eventually(() => {
        const all = firstArrivals(received(topic));
        return all.length === total ? all : undefined;
      }, 60_000);
      for (const subject of subjects) {
        expect(messages.filter((m) => m.subject === subject).map((m) => m.data.n)).toEqual(Array.from({ length: rounds }, (_, i) => i + 1));
      }
    } finally {
      await b.stop();
    }
  });
});

describe('outbox relay with the production resiliency (daprd retries each publish, a circuit breaker guards the broker)', () => {
  let engine: Engine;
  let sidecar: AppUnderTest;
  beforeAll(async () => {
    engine = await openEngine('postgres');
    sidecar = await startSidecar({ components: ['components/pubsub-events.yaml', 'dapr/resources/resiliency.yaml'] });
  });
  afterAll(() => engine.close());

  it('a row the broker refuses, alone in a quiet service, is still parked: the retries end in the refusal, not in an open breaker', async () => {
    const topic = uniqueName('outbox-test');
    const poison = uuidv7();
    await engine.store.append({ id: poison, topic, type: 'caregrid.test.happened.v1', subject: 'p', data: { n: 1 } });
    await engine.setData(poison, tooLarge(1));
    const relay = new OutboxRelay(engine.store, sidecar.sidecar, logger, { relayId: 'resilient', maxAttempts: 3 });
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(await relay.pass()).toMatchObject({ published: 0, failed: 1, parked: attempt === 3 ? 1 : 0 });
    }
    expect((await engine.store.listParked({ limit: 10 })).items).toEqual([
      expect.objectContaining({ id: poison, attempts: 3, lastError: expect.stringMatching(/MaxMessageBytes/) }),
    ]);
  }, 120_000);
});

describe('outbox relay during a broker outage', () => {
  it('parks nothing however many passes fail, and everything goes out in order once the broker is back', async () => {
    // A broker of this test's own, to stop: the shared one serves every other run.
    const kafka = await startPrivateKafka({ topics: [] });
    const engine = await openEngine('postgres');
    try {
      const sidecar = await startSidecar({ env: { KAFKA_BROKERS: kafka.brokers } });
      const topic = uniqueName('outbox-outage');
      const append = async (subject: string, n: number) => {
        const id = uuidv7();
        await engine.store.append({ id, topic, type: 'caregrid.test.happened.v1', subject, data: { n } });
        return id;
      };
      const relay = new OutboxRelay(engine.store, sidecar.sidecar, logger, { relayId: 'outage', maxAttempts: 2 });
      const ids = [await append('a', 1), await append('b', 1)];
      expect(await relay.pass()).toMatchObject({ published: 2 });

      await kafka.stop();
      ids.push(await append('a', 2), await append('b', 2));
      // Twice maxAttempts passes, every publish failing: a broker outage, no row's fault.
      for (let i = 0; i < 4; i++) expect(await relay.pass()).toMatchObject({ published: 0, failed: 2, parked: 0 });
      expect((await engine.store.listParked({ limit: 10 })).items).toEqual([]);

      await kafka.start();
      await eventually(async () => ((await relay.drain()).failed === 0 && (await engine.pending()) === 0 ? true : undefined), 60_000);
      const messages = await eventually(() => {
        const all = firstArrivals(readTopic(topic, kafka.brokers) as Received[]);
        return all.length === ids.length ? all : undefined;
      });
      expect(messages.map((m) => m.id).sort()).toEqual([...ids].sort());
      for (const subject of ['a', 'b']) expect(messages.filter((m) => m.subject === subject).map((m) => m.data.n)).toEqual([1, 2]);
    } finally {
      await engine.close();
      await kafka.remove();
    }
  }, 180_000);
});
