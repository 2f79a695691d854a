import { doctorCreated, doctorDeleted, doctorUpdated } from '@caregrid/contracts';
import { outboxEvent } from '@caregrid/platform';
import type { Doctor } from '../domain/doctor.js';

export type DoctorEventKind = 'created' | 'updated' | 'deleted';

/** The outbox row for a change: what booking and analytics need (the tariff included), not contact details beyond email. */
export function doctorEvent(kind: DoctorEventKind, doctor: Doctor) {
  if (kind === 'deleted') return outboxEvent(doctorDeleted, doctor.id, { doctorId: doctor.id });
  const { id, name, email, specialization, hospitalName, department, accepting, slotMinutes, timeZone, fees, currency, version } = doctor;
  return outboxEvent(kind === 'created' ? doctorCreated : doctorUpdated, id, {
    doctorId: id,
    name,
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
