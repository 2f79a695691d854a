import {
  appointmentBooked,
  appointmentCancelled,
  appointmentFulfilled,
  appointmentNoShow,
  appointmentPaid,
  appointmentRescheduled,
  appointmentsPurged,
} from '@caregrid/contracts';
import { outboxEvent } from '@caregrid/platform';
import type { Appointment } from '../domain/appointment.js';

type Kind = 'booked' | 'cancelled' | 'fulfilled' | 'noshow' | 'paid';

/** What every appointment event says of it: `a` as stored (its timestamps of record keeping are not part of any event). */
const snapshotOf = (a: Omit<Appointment, 'createdAt' | 'updatedAt'>) => ({
  appointmentId: a.id,
  patientId: a.patientId,
  patientName: a.patientName,
  doctorId: a.doctorId,
  doctorName: a.doctorName,
  specialization: a.specialization,
  serviceType: a.serviceType,
  start: a.start,
  end: a.end,
  status: a.status,
  amount: a.amount,
  currency: a.currency,
  version: a.version,
});

export function appointmentEvent(kind: Kind, a: Omit<Appointment, 'createdAt' | 'updatedAt'>) {
  const snapshot = snapshotOf(a);
  switch (kind) {
    case 'booked':
      return outboxEvent(appointmentBooked, a.id, snapshot);
    case 'cancelled':
      return outboxEvent(appointmentCancelled, a.id, { ...snapshot, reason: a.cancellationReason ?? '' });
    case 'fulfilled':
      return outboxEvent(appointmentFulfilled, a.id, snapshot);
    case 'noshow':
      return outboxEvent(appointmentNoShow, a.id, snapshot);
    case 'paid':
      return outboxEvent(appointmentPaid, a.id, { ...snapshot, paymentMethod: a.payment!.method, paidAt: a.payment!.paidAt });
  }
}

/** The appointment as stored after its move (new start, end and version), and where it was before. */
export function rescheduledEvent(a: Omit<Appointment, 'createdAt' | 'updatedAt'>, previous: Pick<Appointment, 'start' | 'end'>) {
  return outboxEvent(appointmentRescheduled, a.id, {
    ...snapshotOf(a),
    previousStart: previous.start,
    previousEnd: previous.end,
  });
}

export const purgedEvent = (archived: number, cutoff: Date) =>
  outboxEvent(appointmentsPurged, 'appointments', { archived, cutoff: cutoff.toISOString(), runAt: new Date().toISOString() });
