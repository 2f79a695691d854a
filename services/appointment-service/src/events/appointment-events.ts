import {
  appointmentBooked,
  appointmentCancelled,
  appointmentFulfilled,
  appointmentNoShow,
  appointmentPaid,
  appointmentsPurged,
} from '@caregrid/contracts';
import { outboxEvent } from '@caregrid/platform';
import type { Appointment } from '../domain/appointment.js';

type Kind = 'booked' | 'cancelled' | 'fulfilled' | 'noshow' | 'paid';

/** `a` is the appointment as stored (its timestamps of record keeping are not part of any event). */
export function appointmentEvent(kind: Kind, a: Omit<Appointment, 'createdAt' | 'updatedAt'>) {
  const snapshot = {
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
  };
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

export const purgedEvent = (archived: number, cutoff: Date) =>
  outboxEvent(appointmentsPurged, 'appointments', { archived, cutoff: cutoff.toISOString(), runAt: new Date().toISOString() });
