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
  const {
    id,
    name,
    family,
    given,
    email,
    specialization,
    hospitalName,
    department,
    accepting,
    slotMinutes,
    timeZone,
    fees,
    currency,
    version,
  } = doctor;
  return outboxEvent(kind === 'created' ? doctorCreated : doctorUpdated, id, {
    doctorId: id,
    name,
    family,
    given,
    email,
    specialization,
    hospitalName,
    department,
    accepting,
    slotMinutes,
    timeZone,
    fees,
    currency,
    version,
  });
}
