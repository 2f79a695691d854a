import { doctorCreated, doctorDeleted, doctorUpdated } from '@caregrid/contracts';
import { outboxEvent } from '@caregrid/platform';
import type { Doctor } from '../domain/doctor.js';

export type DoctorEventKind = 'created' | 'updated' | 'deleted';

/**
 * The outbox row for a change: what booking and analytics need (the tariff included), not contact
 * details beyond email. Every event carries the doctor's version after the change (a deletion's
 * too), so readers apply an event only over an older one.
 */
export function doctorEvent(kind: DoctorEventKind, doctor: Doctor) {
  if (kind === 'deleted') return outboxEvent(doctorDeleted, doctor.id, { doctorId: doctor.id, version: doctor.version });
  return outboxEvent(kind === 'created' ? doctorCreated : doctorUpdated, doctor.id, {
    doctorId: doctor.id,
    name: doctor.name,
    family: doctor.family,
    given: doctor.given,
    email: doctor.email,
    specialization: doctor.specialization,
    hospitalName: doctor.hospitalName,
    department: doctor.department,
    accepting: doctor.accepting,
    slotMinutes: doctor.slotMinutes,
    timeZone: doctor.timeZone,
    fees: doctor.fees,
    currency: doctor.currency,
    version: doctor.version,
  });
}
