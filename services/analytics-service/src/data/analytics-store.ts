import {
  appointmentBooked,
  appointmentCancelled,
  appointmentFulfilled,
  appointmentNoShow,
  appointmentPaid,
  doctorCreated,
  doctorDeleted,
  doctorUpdated,
  patientCreated,
} from '@caregrid/contracts';
import type { Filter } from 'mongodb';
import { insertManyNew, prepareDeadLetters, type Db } from '@caregrid/platform/mongo';

/**
 * Events and read models in a MongoDB-wire store. Queries keep to what
 * FerretDB 1.24 implements and real MongoDB answers alike: $match, $group with
 * $sum (never $count inside $group: FerretDB returns 0), $sort, $limit; day
 * buckets are stored at write time instead of $dateToString.
 */
type StoredEvent = {
  _id: string;
  type: string;
  time: Date;
  day: string;
  data: Record<string, unknown>;
  applied: boolean;
  receivedAt: Date;
};
/** A doctor's totals, computed from the stored events when asked (see record). */
type DoctorStats = {
  _id: string;
  name: string;
  specialization: string;
  appointments: number;
  revenue: Record<string, number>;
};
type IncomingEvent = { id: string; type: string; time?: string; data: Record<string, unknown> };
/**
 * A doctor as its newest applied event says, at doctor-service's version of it. A deletion is kept
 * as a tombstone (deleted, at the deletion's version) so that no older event arriving later, late
 * or re-driven, brings the doctor back. Documents written before versions were kept have none.
 */
type DoctorModel = { _id: string; name?: string; specialization?: string; deleted: boolean; version?: number };

/** A deletion published before deletions carried a version: deletion is final in doctor-service, so it outranks every version. */
const FINAL_VERSION = Number.MAX_SAFE_INTEGER;

const DOCTOR_EVENTS: ReadonlySet<string> = new Set([doctorCreated.type, doctorUpdated.type, doctorDeleted.type]);

export const APPOINTMENT_COUNTS = {
  booked: appointmentBooked.type,
  cancelled: appointmentCancelled.type,
  fulfilled: appointmentFulfilled.type,
  noshow: appointmentNoShow.type,
} as const;

export async function prepareAnalytics(db: Db): Promise<void> {
  // Events are keyed by CloudEvent id (_id): a redelivered event is a duplicate key, stored once.
  await db.collection('events').createIndex({ type: 1, time: 1 });
  await prepareDeadLetters(db);
}

export class AnalyticsStore {
  private readonly events;
  private readonly doctors;
  /** Per doctor, the last of this process's writes to its model (see oneAtATime). */
  private readonly doctorWrites = new Map<string, Promise<void>>();

  constructor(db: Db) {
    this.events = db.collection<StoredEvent>('events');
    this.doctors = db.collection<DoctorModel>('doctors');
  }

  /**
   * Stores the event once (its CloudEvent id is the key) and applies it to the doctors' model;
   * false when it was already there. Counts and sums — per doctor too — are computed from the
   * stored events when asked, never kept as counters: an insert under a unique key is the one
   * write every MongoDB-wire store makes atomic, so racing deliveries can neither count an event
   * twice nor lose another's increment (FerretDB runs an update as read, modify, write back, and
   * two concurrent increments of one document keep only one).
   */
  async record(event: IncomingEvent): Promise<boolean> {
    const [fresh] = await this.recordMany([event]);
    return fresh!;
  }

  /**
   * `record` for a batch of deliveries in one insert (true for each event stored now, false for
   * one that was there); the doctors' model follows in the batch's order.
   */
  async recordMany(events: IncomingEvent[]): Promise<boolean[]> {
    const docs = events.map((event): StoredEvent => {
      const time = event.time ? new Date(event.time) : new Date();
      return {
        _id: event.id,
        type: event.type,
        time,
        day: time.toISOString().slice(0, 10),
        data: event.data,
        // Only doctor events change a model besides the events themselves; the rest are done once stored.
        applied: !DOCTOR_EVENTS.has(event.type),
        receivedAt: new Date(),
      };
    });
    const fresh = await insertManyNew(this.events, docs);
    for (const [i, doc] of docs.entries()) if (fresh[i] && !doc.applied) await this.apply(doc);
    // Stored by an earlier delivery that stopped before the read models: finish that work now. One
    // query for all of a batch's repeats (FerretDB scans the collection for each `_id` lookup).
    const repeated = docs.filter((_, i) => !fresh[i]).map((doc) => doc._id);
    if (repeated.length > 0) {
      const unfinished = await this.events.find({ _id: { $in: repeated }, applied: false }).toArray();
      const byId = new Map(unfinished.map((doc) => [doc._id, doc]));
      for (const id of new Set(repeated)) if (byId.has(id)) await this.apply(byId.get(id)!);
    }
    return fresh;
  }

  private async apply(event: Pick<StoredEvent, '_id' | 'type' | 'data'>): Promise<void> {
    const data = event.data;
    if (event.type === doctorCreated.type || event.type === doctorUpdated.type) {
      const version = Number(data.version);
      // A document kept before versions were: any version is newer, unless it is a deletion.
      await this.applyDoctorVersion(
        String(data.doctorId),
        { $or: [{ version: { $lt: version } }, { version: { $exists: false }, deleted: false }] },
        {
          name: String(data.name),
          specialization: String(data.specialization),
          deleted: false,
          version,
        },
      );
    } else if (event.type === doctorDeleted.type) {
      const version = typeof data.version === 'number' ? data.version : FINAL_VERSION;
      await this.applyDoctorVersion(
        String(data.doctorId),
        { $or: [{ version: { $lt: version } }, { version: { $exists: false } }] },
        {
          deleted: true,
          version,
        },
      );
    }
    await this.events.updateOne({ _id: event._id }, { $set: { applied: true } });
  }

  /**
   * Writes a doctor's state (its version included) only over an older one (`older`): an event of an older
   * version, arriving late or re-driven, changes nothing. A doctor not held yet is inserted, a
   * deletion too (the tombstone). The insert failing on the key means the doctor is there at this
   * version or a newer one, or a racing delivery just inserted it: the conditional update decides.
   */
  private applyDoctorVersion(doctorId: string, older: Filter<DoctorModel>, state: Partial<DoctorModel>): Promise<void> {
    return this.oneAtATime(doctorId, async () => {
      try {
        await this.doctors.updateOne({ _id: doctorId, ...older }, { $set: state }, { upsert: true });
      } catch (error) {
        if ((error as { code?: number }).code !== 11000) throw error;
        await this.doctors.updateOne({ _id: doctorId, ...older }, { $set: state });
      }
    });
  }

  /**
   * Runs `work` after every earlier work of the same key in this process has settled. MongoDB
   * checks an update's filter and writes the document atomically; FerretDB checks it on a read
   * taken before its write, so two versions of one doctor applied at once could both pass it and
   * the older could land last. Racing deliveries of one doctor within a process (a re-drive
   * beside the live batch) are thus taken in turn; across replicas only MongoDB decides atomically.
   */
  private oneAtATime(key: string, work: () => Promise<void>): Promise<void> {
    const run = (this.doctorWrites.get(key) ?? Promise.resolve()).then(work);
    const settled = run.catch(() => undefined);
    this.doctorWrites.set(key, settled);
    void settled.then(() => {
      if (this.doctorWrites.get(key) === settled) this.doctorWrites.delete(key);
    });
    return run;
  }

  async countByType(from: Date, to: Date, types: string[]): Promise<Map<string, number>> {
    const rows = await this.events
      .aggregate<{ _id: string; count: number }>([
        { $match: { type: { $in: types }, time: { $gte: from, $lt: to } } },
        { $group: { _id: '$type', count: { $sum: 1 } } },
      ])
      .toArray();
    return new Map(rows.map((r) => [r._id, r.count]));
  }

  async revenue(from: Date, to: Date): Promise<{ currency: string; amount: number }[]> {
    const rows = await this.events
      .aggregate<{ _id: string; amount: number }>([
        { $match: { type: appointmentPaid.type, time: { $gte: from, $lt: to } } },
        { $group: { _id: '$data.currency', amount: { $sum: '$data.amount' } } },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    return rows.map((r) => ({ currency: r._id, amount: r.amount }));
  }

  async dailyAppointments(from: Date, to: Date): Promise<{ day: string; type: string; count: number }[]> {
    const rows = await this.events
      .aggregate<{ _id: { day: string; type: string }; count: number }>([
        { $match: { type: { $in: Object.values(APPOINTMENT_COUNTS) }, time: { $gte: from, $lt: to } } },
        { $group: { _id: { day: '$day', type: '$type' }, count: { $sum: 1 } } },
        { $sort: { '_id.day': 1 } },
      ])
      .toArray();
    return rows.map((r) => ({ day: r._id.day, type: r._id.type, count: r.count }));
  }

  async topDoctors(by: 'appointments' | 'revenue', currency: string, limit: number): Promise<DoctorStats[]> {
    type Group = { _id: { doctorId: string; name: string; specialization: string }; total: number };
    // One accumulator per $group: with two, FerretDB 1.24 answers 0 for a $sum of a field.
    const perDoctor = (match: Record<string, unknown>, total: 1 | '$data.amount') =>
      this.events
        .aggregate<Group>([
          { $match: match },
          {
            $group: {
              _id: { doctorId: '$data.doctorId', name: '$data.doctorName', specialization: '$data.specialization' },
              total: { $sum: total },
            },
          },
        ])
        .toArray();
    const [booked, paid] = await Promise.all([
      perDoctor({ type: appointmentBooked.type }, 1),
      perDoctor({ type: appointmentPaid.type, 'data.currency': currency }, '$data.amount'),
    ]);
    const doctors = new Map<string, DoctorStats>();
    // A doctor renamed between events appears under each name: the totals add up, one name is shown.
    const doctor = (g: Group) =>
      doctors.get(g._id.doctorId) ??
      doctors
        .set(g._id.doctorId, { _id: g._id.doctorId, name: g._id.name, specialization: g._id.specialization, appointments: 0, revenue: {} })
        .get(g._id.doctorId)!;
    for (const g of booked) doctor(g).appointments += g.total;
    for (const g of paid) {
      const stats = doctor(g);
      stats.revenue[currency] = (stats.revenue[currency] ?? 0) + g.total;
    }
    const value = (d: DoctorStats) => (by === 'appointments' ? d.appointments : (d.revenue[currency] ?? 0));
    return [...doctors.values()]
      .filter((d) => value(d) > 0)
      .sort((a, b) => value(b) - value(a) || (a._id < b._id ? -1 : 1))
      .slice(0, limit);
  }

  async specializations(): Promise<{ specialization: string; doctors: number; appointments: number }[]> {
    const [doctors, appointments] = await Promise.all([
      this.doctors
        .aggregate<{ _id: string; count: number }>([
          { $match: { deleted: false } },
          { $group: { _id: '$specialization', count: { $sum: 1 } } },
        ])
        .toArray(),
      this.events
        .aggregate<{ _id: string; count: number }>([
          { $match: { type: appointmentBooked.type } },
          { $group: { _id: '$data.specialization', count: { $sum: 1 } } },
        ])
        .toArray(),
    ]);
    const names = new Set([...doctors.map((d) => d._id), ...appointments.map((a) => a._id)].filter(Boolean));
    return [...names].sort().map((specialization) => ({
      specialization,
      doctors: doctors.find((d) => d._id === specialization)?.count ?? 0,
      appointments: appointments.find((a) => a._id === specialization)?.count ?? 0,
    }));
  }

  async patientsRegistered(from: Date, to: Date): Promise<number> {
    return (await this.countByType(from, to, [patientCreated.type])).get(patientCreated.type) ?? 0;
  }
}
