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
import { prepareDeadLetters, type Db } from '@caregrid/platform/mongo';

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
type DoctorStats = {
  _id: string;
  name: string;
  specialization: string;
  appointments: number;
  revenue: Record<string, number>;
  /** The latest events this document took in (see applyOnce). */
  applied?: string[];
};

/**
 * How many recent event ids a read-model document remembers. A redelivery
 * comes after a crash or a timeout, seconds later, not after a thousand newer
 * events of the same doctor.
 */
const APPLIED_MEMORY = 1_000;
type DoctorModel = { _id: string; name: string; specialization: string; deleted: boolean };

export const APPOINTMENT_COUNTS = {
  booked: appointmentBooked.type,
  cancelled: appointmentCancelled.type,
  fulfilled: appointmentFulfilled.type,
  noshow: appointmentNoShow.type,
} as const;

export async function prepareAnalytics(db: Db): Promise<void> {
  // Events are keyed by CloudEvent id (_id): a redelivered event is a duplicate key, stored once.
  await db.collection('events').createIndex({ type: 1, time: 1 });
  await db.collection('doctor_stats').createIndex({ appointments: -1 });
  await prepareDeadLetters(db);
}

export class AnalyticsStore {
  private readonly events;
  private readonly doctorStats;
  private readonly doctors;

  constructor(db: Db) {
    this.events = db.collection<StoredEvent>('events');
    this.doctorStats = db.collection<DoctorStats>('doctor_stats');
    this.doctors = db.collection<DoctorModel>('doctors');
  }

  /** Stores the event once and applies it to the read models once; false when it was already there. */
  async record(event: { id: string; type: string; time?: string; data: Record<string, unknown> }): Promise<boolean> {
    const time = event.time ? new Date(event.time) : new Date();
    try {
      await this.events.insertOne({
        _id: event.id,
        type: event.type,
        time,
        day: time.toISOString().slice(0, 10),
        data: event.data,
        applied: false,
        receivedAt: new Date(),
      });
    } catch (error) {
      if ((error as { code?: number }).code !== 11000) throw error;
      const existing = await this.events.findOne({ _id: event.id });
      // Stored by an earlier delivery that stopped before the read models: finish that work now.
      if (existing && !existing.applied) await this.apply(existing);
      return false;
    }
    await this.apply({ _id: event.id, type: event.type, data: event.data });
    return true;
  }

  private async apply(event: Pick<StoredEvent, '_id' | 'type' | 'data'>): Promise<void> {
    const data = event.data;
    if (event.type === appointmentBooked.type) {
      await this.applyOnce(String(data.doctorId), event._id, {
        $inc: { appointments: 1 },
        $set: { name: String(data.doctorName), specialization: String(data.specialization) },
      });
    } else if (event.type === appointmentPaid.type) {
      await this.applyOnce(String(data.doctorId), event._id, { $inc: { [`revenue.${String(data.currency)}`]: Number(data.amount) } });
    } else if (event.type === doctorCreated.type || event.type === doctorUpdated.type) {
      await this.doctors.updateOne(
        { _id: String(data.doctorId) },
        { $set: { name: String(data.name), specialization: String(data.specialization), deleted: false } },
        { upsert: true },
      );
    } else if (event.type === doctorDeleted.type) {
      await this.doctors.updateOne({ _id: String(data.doctorId) }, { $set: { deleted: true } });
    }
    await this.events.updateOne({ _id: event._id }, { $set: { applied: true } });
  }

  /**
   * An increment of a doctor's statistics, once per event even when two
   * deliveries race or a crash left the event stored but not marked applied:
   * one atomic update that matches only while the document has not taken this
   * event in, and records that it has. A second attempt matches nothing, so
   * its upsert would insert a second document of the same id: the duplicate
   * key says "already applied".
   */
  private async applyOnce(doctorId: string, eventId: string, update: Record<string, unknown>): Promise<void> {
    try {
      await this.doctorStats.updateOne(
        { _id: doctorId, applied: { $ne: eventId } },
        { ...update, $push: { applied: { $each: [eventId], $slice: -APPLIED_MEMORY } } },
        { upsert: true },
      );
    } catch (error) {
      if ((error as { code?: number }).code !== 11000) throw error;
    }
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
    const field = by === 'appointments' ? 'appointments' : `revenue.${currency}`;
    return this.doctorStats
      .find({ [field]: { $gt: 0 } }, { projection: { applied: 0 } })
      .sort({ [field]: -1, _id: 1 })
      .limit(limit)
      .toArray();
  }

  async specializations(): Promise<{ specialization: string; doctors: number; appointments: number }[]> {
    const [doctors, appointments] = await Promise.all([
      this.doctors
        .aggregate<{ _id: string; count: number }>([
          { $match: { deleted: false } },
          { $group: { _id: '$specialization', count: { $sum: 1 } } },
        ])
        .toArray(),
      this.doctorStats
        .aggregate<{ _id: string; count: number }>([{ $group: { _id: '$specialization', count: { $sum: '$appointments' } } }])
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
