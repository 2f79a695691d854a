/**
 * analytics-service's store against the real MongoDB-wire server (FerretDB
 * locally): an event counts once in the read models whatever happens to its
 * deliveries — repeated, racing, or after a crash between storing the event
 * and marking it applied.
 */
import { randomUUID } from 'node:crypto';
import {
  appointmentBooked,
  appointmentPaid,
  appointmentRescheduled,
  auditRecorded,
  doctorCreated,
  doctorDeleted,
  doctorUpdated,
} from '@caregrid/contracts';
import { eventually, freshAuditTrail, freshDatabase, sampleAuditEntry } from '@caregrid/devkit';
import { deadLetterArrival, NotFoundError, redriveDeadLetter, startDeadLetterRedrive, type EventApplier } from '@caregrid/platform';
import { mongoDeadLetterStore, prepareDeadLetters } from '@caregrid/platform/mongo';
import { MongoClient, type Db } from 'mongodb';
import { pino } from 'pino';
import { AnalyticsStore, prepareAnalytics } from '../../src/data/analytics-store.js';
import { AuditStore } from '../../src/data/audit-store.js';
import { subscriptions } from '../../src/events/subscriptions.js';
import { analyticsUseCases } from '../../src/use-cases.js';

let client: MongoClient;
let db: Db;
let drop: () => Promise<void>;
let store: AnalyticsStore;
let audit: AuditStore;
let trail: Awaited<ReturnType<typeof freshAuditTrail>>;

beforeAll(async () => {
  const database = await freshDatabase('mongodb', 'analytics');
  drop = database.drop;
  client = new MongoClient(database.url);
  await client.connect();
  db = client.db();
  await prepareAnalytics(db);
  await prepareDeadLetters(db);
  store = new AnalyticsStore(db);
  trail = await freshAuditTrail('analytics_store');
  audit = new AuditStore(trail);
});

afterAll(async () => {
  await trail?.close();
  await client?.close();
  await drop?.();
});

const event = (type: string, doctorId: string, extra: Record<string, unknown> = {}) => ({
  id: randomUUID(),
  type,
  time: new Date().toISOString(),
  data: { doctorId, doctorName: 'Dr Once', specialization: 'cardiology', amount: 5_000, currency: 'EUR', ...extra },
});

const quiet = pino({ level: 'silent' });
/** The subscriptions' use cases over this file's stores (retention is not exercised here). */
const useCases = () => analyticsUseCases({ store, audit, auditTrail: { retentionDays: 2_190 }, logger: quiet });

/** What Dapr would be answered for one event delivered on its own. */
const handle = async (apply: EventApplier, body: unknown) => (await apply([body]))[0]!.status;

/** An appointment.booked as appointment-service publishes it: whole, valid for its contract. */
const bookedEnvelope = (doctorId: string, data: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: randomUUID(),
  source: 'appointment-service',
  topic: 'appointments',
  type: appointmentBooked.type,
  time: new Date().toISOString(),
  data: {
    appointmentId: randomUUID(),
    patientId: randomUUID(),
    patientName: 'Pat Once',
    doctorId,
    doctorName: 'Dr Once',
    specialization: 'cardiology',
    serviceType: 'checkup',
    start: '2030-01-07T09:00:00.000Z',
    end: '2030-01-07T09:30:00.000Z',
    status: 'booked',
    amount: 5_000,
    currency: 'EUR',
    ...data,
  },
});

const statsOf = async (doctorId: string) => {
  const [top] = (await store.topDoctors('appointments', 'EUR', 100)).filter((d) => d._id === doctorId);
  const [paid] = (await store.topDoctors('revenue', 'EUR', 100)).filter((d) => d._id === doctorId);
  return { appointments: top?.appointments ?? 0, revenue: paid?.revenue?.EUR ?? 0 };
};

it('a redelivered event counts once', async () => {
  const doctorId = randomUUID();
  const booked = event(appointmentBooked.type, doctorId);
  expect(await store.record(booked)).toBe(true);
  expect(await store.record(booked)).toBe(false);
  expect(await statsOf(doctorId)).toEqual({ appointments: 1, revenue: 0 });
});

it('racing deliveries of the same events count once each', async () => {
  const doctorId = randomUUID();
  const booked = event(appointmentBooked.type, doctorId);
  const paid = event(appointmentPaid.type, doctorId);
  await Promise.all([booked, booked, booked, paid, paid, paid].map((e) => store.record(e)));
  expect(await statsOf(doctorId)).toEqual({ appointments: 1, revenue: 5_000 });
});

it('an event stored and applied, but not yet marked applied when the process died, counts once on redelivery', async () => {
  const doctorId = randomUUID();
  const paid = event(appointmentPaid.type, doctorId);
  await store.record(paid);
  // The crash: the read models took the event in, the "applied" mark was never written.
  await db.collection('events').updateOne({ _id: paid.id as never }, { $set: { applied: false } });
  expect(await store.record(paid)).toBe(false);
  expect(await statsOf(doctorId)).toEqual({ appointments: 0, revenue: 5_000 });
});

it('the reports never show the bookkeeping of applied events', async () => {
  const doctorId = randomUUID();
  await store.record(event(appointmentBooked.type, doctorId));
  const [doctor] = (await store.topDoctors('appointments', 'EUR', 100)).filter((d) => d._id === doctorId);
  expect(doctor).not.toHaveProperty('applied');
});

describe('dead letters (dead_letters collection)', () => {
  const envelope = (doctorId: string) => bookedEnvelope(doctorId);

  it('parks an event once, counting arrivals; pages without payloads; a re-drive records it once and unparks it', async () => {
    const letters = mongoDeadLetterStore(db);
    const doctorId = randomUUID();
    const parked = [envelope(doctorId), envelope(randomUUID()), envelope(randomUUID())];
    // One batch each, so that they are parked one after the other (the list is oldest first).
    for (const e of parked) await letters.parkMany([deadLetterArrival(e)], 60_000);
    // A batch bringing one of them again (daprd redelivers): counted, not parked twice.
    await letters.parkMany([deadLetterArrival(parked[0]), deadLetterArrival(parked[0])], 60_000);
    await letters.noteDropped({ ...deadLetterArrival(parked[1]), reason: 'why' });

    const seen: { id: string; count: number; reason: string | null; poison: boolean }[] = [];
    for (let cursor: string | undefined; ;) {
      const page = await letters.list({ limit: 2, cursor });
      for (const item of page.items) expect(item).not.toHaveProperty('event');
      seen.push(...page.items);
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    const mine = seen.filter((l) => parked.some((e) => e.id === l.id));
    // Dropped as malformed: poison from the start, waiting for a person.
    expect(mine.map((l) => [l.id, l.count, l.reason, l.poison])).toEqual([
      [parked[0]!.id, 3, null, false],
      [parked[1]!.id, 1, 'why', true],
      [parked[2]!.id, 1, null, false],
    ]);

    const { apply } = subscriptions({ analytics: useCases(), deadLetters: letters, logger: quiet });
    expect(await redriveDeadLetter(parked[0]!.id, { store: letters, apply, logger: quiet })).toEqual({
      id: parked[0]!.id,
      outcome: 'redriven',
    });
    await expect(redriveDeadLetter(parked[0]!.id, { store: letters, apply, logger: quiet })).rejects.toBeInstanceOf(NotFoundError);
    expect(await statsOf(doctorId)).toEqual({ appointments: 1, revenue: 0 });
    // The live delivery arriving after all: still counted once.
    expect(await handle(apply, parked[0])).toBe('SUCCESS');
    expect(await statsOf(doctorId)).toEqual({ appointments: 1, revenue: 0 });
  });
});

it('parked letters of every kind come back by themselves, in a batch, audit entries to the trail; a malformed one stays, poison, until an admin re-drives it', async () => {
  const letters = mongoDeadLetterStore(db);
  const { apply } = subscriptions({ analytics: useCases(), deadLetters: letters, logger: quiet });
  const doctorId = randomUUID();
  const booked = [bookedEnvelope(doctorId), bookedEnvelope(doctorId)];
  const entryId = randomUUID();
  const auditEntry = {
    specversion: '1.0',
    id: entryId,
    source: 'patient-service',
    topic: 'audit.patient-service',
    type: auditRecorded.type,
    data: sampleAuditEntry({
      id: entryId,
      actor: { kind: 'service', appId: 'appointment-service' },
      patientIds: [],
      requestId: `redrive-${entryId}`,
      traceId: '0'.repeat(32),
    }),
  };
  const malformed = { ...bookedEnvelope(doctorId), data: { amount: 'lots' } };
  // As the live delivery drops it: noted (poison), then parked when daprd moves it to the dead-letter topic.
  expect(await handle(apply, malformed)).toBe('DROP');
  await letters.parkMany([...booked, auditEntry, malformed].map(deadLetterArrival), 0);

  const redrive = startDeadLetterRedrive({ store: letters, apply, logger: quiet, intervalMs: 100 });
  try {
    await eventually(async () => ((await statsOf(doctorId)).appointments === 2 ? true : undefined), 10_000);
    await eventually(
      async () => ((await audit.find({ limit: 10, actor: 'appointment-service' })).items.some((e) => e.id === entryId) ? true : undefined),
      10_000,
    );
    // Applied ones are unparked (other tests' letters share the collection: look at these only).
    await eventually(
      async () => ((await Promise.all([...booked, auditEntry].map((e) => letters.get(e.id)))).every((l) => !l) ? true : undefined),
      10_000,
    );
    expect(await letters.get(malformed.id)).toMatchObject({ poison: true, nextAttemptAt: null, reason: expect.stringMatching(/amount/) });
    expect((await letters.backlog()).poison).toBeGreaterThanOrEqual(1);
    for (const e of [...booked, auditEntry]) expect(await letters.get(e.id)).toBeUndefined();

    // An admin's bulk re-drive takes poison letters too; refused again, it is poison again (counted), never applied.
    expect(await letters.schedule({ topic: 'appointments', from: new Date(Date.now() - 60_000) })).toBeGreaterThanOrEqual(1);
    redrive.kick();
    await eventually(async () => ((await letters.get(malformed.id))?.attempts === 1 ? true : undefined), 10_000);
    expect(await letters.get(malformed.id)).toMatchObject({ poison: true });
    expect(await statsOf(doctorId)).toEqual({ appointments: 2, revenue: 0 });
  } finally {
    redrive.stop();
  }
});

it('with no passes of its own (DEAD_LETTER_REDRIVE_MS=0), an admin’s bulk re-drive still applies what it scheduled', async () => {
  const letters = mongoDeadLetterStore(db);
  const { apply } = subscriptions({ analytics: useCases(), deadLetters: letters, logger: quiet });
  const doctorId = randomUUID();
  const waiting = bookedEnvelope(doctorId);
  await letters.parkMany([deadLetterArrival(waiting)], 3_600_000);
  const redrive = startDeadLetterRedrive({ store: letters, apply, logger: quiet, intervalMs: 0 });
  try {
    expect(await letters.schedule({ topic: 'appointments', from: new Date(Date.now() - 60_000) })).toBeGreaterThanOrEqual(1);
    redrive.kick();
    await eventually(async () => ((await letters.get(waiting.id)) ? undefined : true), 10_000);
    expect(await statsOf(doctorId)).toEqual({ appointments: 1, revenue: 0 });
  } finally {
    redrive.stop();
  }
});

it('an event that breaks its contract, or of a type no contract defines, never reaches the reports: it is noted with the reason and dropped', async () => {
  const letters = mongoDeadLetterStore(db);
  const { apply } = subscriptions({ analytics: useCases(), deadLetters: letters, logger: quiet });
  const doctorId = randomUUID();
  const since = new Date(Date.now() - 1_000);
  const poisonPaid = { ...bookedEnvelope(doctorId), type: appointmentPaid.type, data: { amount: 'lots' } };
  const unknown = { ...bookedEnvelope(doctorId), type: 'caregrid.appointment.teleported.v1' };
  const wrongField = bookedEnvelope(doctorId, { currency: null });
  for (const bad of [poisonPaid, unknown, wrongField]) expect(await handle(apply, bad)).toBe('DROP');
  expect(await handle(apply, bookedEnvelope(doctorId))).toBe('SUCCESS');

  expect(await statsOf(doctorId)).toEqual({ appointments: 1, revenue: 0 });
  const revenue = await store.revenue(since, new Date(Date.now() + 60_000));
  expect(revenue.filter((r) => r.currency !== 'EUR' && r.currency !== 'USD')).toEqual([]);
  for (const [bad, reason] of [
    [poisonPaid, /amount/],
    [unknown, /no contract for event type caregrid\.appointment\.teleported\.v1/],
    [wrongField, /currency/],
  ] as const) {
    expect(await letters.get(bad.id)).toMatchObject({ reason: expect.stringMatching(reason) });
  }
});

it('a moved appointment counts as one booking, on its booking day: appointment.rescheduled is kept, never counted as a booking nor dropped', async () => {
  const letters = mongoDeadLetterStore(db);
  const { apply } = subscriptions({ analytics: useCases(), deadLetters: letters, logger: quiet });
  const doctorId = randomUUID();
  const since = new Date(Date.now() - 1_000);
  const booked = bookedEnvelope(doctorId, { version: 1 });
  const moved = {
    ...bookedEnvelope(doctorId),
    type: appointmentRescheduled.type,
    data: {
      ...booked.data,
      start: '2030-01-08T09:00:00.000Z',
      end: '2030-01-08T09:30:00.000Z',
      previousStart: booked.data.start,
      previousEnd: booked.data.end,
      version: 2,
    },
  };
  expect(await handle(apply, booked)).toBe('SUCCESS');
  expect(await handle(apply, moved)).toBe('SUCCESS');
  expect(await letters.get(moved.id)).toBeUndefined();
  expect(await db.collection('events').countDocuments({ _id: moved.id as never, type: appointmentRescheduled.type })).toBe(1);

  expect(await statsOf(doctorId)).toEqual({ appointments: 1, revenue: 0 });
  const today = new Date().toISOString().slice(0, 10);
  const daily = await store.dailyAppointments(since, new Date(Date.now() + 60_000));
  expect(daily.map((row) => row.type)).not.toContain(appointmentRescheduled.type);
  // The booking is counted by the day it was made, not by the slot: a move changes no day's count.
  const bookingsOfThisDoctor = await db
    .collection('events')
    .countDocuments({ type: appointmentBooked.type, 'data.doctorId': doctorId, day: today });
  expect(bookingsOfThisDoctor).toBe(1);
});

it('different events of one doctor applied at the same time all count (no lost update; FerretDB updates are read-modify-write)', async () => {
  const doctorId = randomUUID();
  const events = Array.from({ length: 20 }, (_, i) => event(i % 2 ? appointmentPaid.type : appointmentBooked.type, doctorId));
  // Each delivered twice, all at once: as from two partitions, two replicas, or a redelivery racing the first.
  await Promise.all([...events, ...events].map((e) => store.record(e)));
  expect(await statsOf(doctorId)).toEqual({ appointments: 10, revenue: 10 * 5_000 });
});

it('racing deliveries of a new doctor store it once, and none of them fails', async () => {
  const doctorId = randomUUID();
  const created = {
    id: randomUUID(),
    type: doctorCreated.type,
    data: { doctorId, name: 'Dr Race', specialization: 'urology', version: 1 },
  };
  await Promise.all(Array.from({ length: 6 }, () => store.record(created)));
  expect((await store.specializations()).find((s) => s.specialization === 'urology')?.doctors).toBe(1);
});

it('a batch stores each event once — new ones, ones already stored, the same one twice — and the doctor ends as its last event says', async () => {
  const doctorId = randomUUID();
  const earlier = event(appointmentBooked.type, doctorId);
  expect(await store.recordMany([earlier])).toEqual([true]);
  const booked = event(appointmentBooked.type, doctorId);
  const paid = event(appointmentPaid.type, doctorId);
  const named = (name: string, version: number) => ({
    id: randomUUID(),
    type: doctorCreated.type,
    data: { doctorId, name, specialization: 'radiology', version },
  });
  const [first, renamed] = [named('Dr First', 1), { ...named('Dr Renamed', 2), type: doctorUpdated.type }];
  expect(await store.recordMany([earlier, booked, first, booked, paid, renamed])).toEqual([false, true, true, false, true, true]);
  expect(await statsOf(doctorId)).toEqual({ appointments: 2, revenue: 5_000 });
  expect(await db.collection('doctors').findOne({ _id: doctorId } as never)).toMatchObject({ name: 'Dr Renamed', deleted: false });
});

describe("doctor versions (doctor-service's version, carried by every doctor event)", () => {
  /** A doctor event as doctor-service publishes it: the snapshot after the change, or the deletion with its version. */
  const change = (type: string, doctorId: string, version: number | undefined, name = `Dr v${version}`, specialization = 'neurology') => ({
    id: randomUUID(),
    type,
    data:
      type === doctorDeleted.type
        ? { doctorId, ...(version === undefined ? {} : { version }) }
        : { doctorId, name, specialization, version },
  });
  const doctorOf = (doctorId: string) => db.collection('doctors').findOne({ _id: doctorId as never });
  /** How many doctors the specializations report counts for a specialization of the test's own. */
  const countedIn = async (specialization: string) =>
    (await store.specializations()).find((s) => s.specialization === specialization)?.doctors ?? 0;

  it('events of one doctor arriving out of order end at the newest version: a late update never overwrites a newer name', async () => {
    const doctorId = randomUUID();
    for (const e of [
      change(doctorUpdated.type, doctorId, 3),
      change(doctorCreated.type, doctorId, 1),
      change(doctorUpdated.type, doctorId, 2),
    ])
      expect(await store.record(e)).toBe(true);
    expect(await doctorOf(doctorId)).toMatchObject({ name: 'Dr v3', deleted: false });

    // The same in one batch, newest first.
    const other = randomUUID();
    await store.recordMany([4, 1, 3, 2].map((v) => change(v === 1 ? doctorCreated.type : doctorUpdated.type, other, v)));
    expect(await doctorOf(other)).toMatchObject({ name: 'Dr v4', deleted: false });
  });

  it('a late or re-driven update after the delete never resurrects the doctor, nor does a creation arriving after its delete', async () => {
    const specialization = `deleted-${randomUUID().slice(0, 8)}`;
    const late = randomUUID();
    await store.record(change(doctorCreated.type, late, 1, 'Dr Late', specialization));
    expect(await countedIn(specialization)).toBe(1);
    await store.record(change(doctorDeleted.type, late, 3));
    await store.record(change(doctorUpdated.type, late, 2, 'Dr Late', specialization));
    expect(await doctorOf(late)).toMatchObject({ deleted: true });

    // The deletion first: it leaves a tombstone that the creation cannot undo.
    const early = randomUUID();
    await store.record(change(doctorDeleted.type, early, 2));
    await store.record(change(doctorCreated.type, early, 1, 'Dr Early', specialization));
    expect(await doctorOf(early)).toMatchObject({ deleted: true });
    expect(await countedIn(specialization)).toBe(0);
  });

  it('a deletion published before deletions carried a version is final: no update undoes it', async () => {
    const doctorId = randomUUID();
    await store.record(change(doctorCreated.type, doctorId, 1));
    await store.record(change(doctorDeleted.type, doctorId, undefined));
    await store.record(change(doctorUpdated.type, doctorId, 7));
    expect(await doctorOf(doctorId)).toMatchObject({ deleted: true });
  });

  it('a doctor kept before versions were takes any version, unless it was deleted', async () => {
    const [kept, deleted] = [randomUUID(), randomUUID()];
    await db.collection('doctors').insertMany([
      { _id: kept as never, name: 'Dr Kept', specialization: 'neurology', deleted: false },
      { _id: deleted as never, name: 'Dr Gone', specialization: 'neurology', deleted: true },
    ]);
    await store.record(change(doctorUpdated.type, kept, 4));
    await store.record(change(doctorUpdated.type, deleted, 4));
    expect(await doctorOf(kept)).toMatchObject({ name: 'Dr v4', deleted: false, version: 4 });
    expect(await doctorOf(deleted)).toMatchObject({ name: 'Dr Gone', deleted: true });
  });

  it('versions of one doctor delivered all at once in one process settle on the newest (FerretDB checks a filter before it writes)', async () => {
    for (let round = 0; round < 5; round++) {
      const doctorId = randomUUID();
      const versions = Array.from({ length: 8 }, (_, i) => change(i === 0 ? doctorCreated.type : doctorUpdated.type, doctorId, i + 1));
      // Newest first, each twice: the older ones race to overwrite it.
      const newestFirst = [...versions].reverse();
      await Promise.all([...newestFirst, ...newestFirst].map((e) => store.record(e)));
      expect(await doctorOf(doctorId)).toMatchObject({ name: 'Dr v8', deleted: false });
    }
  });
});
