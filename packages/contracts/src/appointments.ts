import { z } from 'zod';
import { defineEvent, Topics } from './core.js';

export const SERVICE_TYPES = ['consultation', 'surgery', 'vaccination', 'checkup', 'follow-up'] as const;
export const APPOINTMENT_STATUSES = ['booked', 'checked-in', 'fulfilled', 'cancelled', 'noshow'] as const;
export const PAYMENT_METHODS = ['credit', 'debit', 'cash', 'insurance'] as const;

/** Money everywhere: integer minor units plus an ISO 4217 code. */
export const money = { amount: z.number().int().nonnegative(), currency: z.string().regex(/^[A-Z]{3}$/, 'ISO 4217 code, e.g. EUR') };

/** What billing and analytics need to know about an appointment, names included (snapshot at booking). */
const appointmentSnapshot = z.object({
  appointmentId: z.uuid(),
  patientId: z.uuid(),
  patientName: z.string(),
  doctorId: z.uuid(),
  doctorName: z.string(),
  specialization: z.string(),
  serviceType: z.enum(SERVICE_TYPES),
  start: z.iso.datetime(),
  end: z.iso.datetime(),
  status: z.enum(APPOINTMENT_STATUSES),
  ...money,
});

const event = <S extends z.ZodType>(verb: string, data: S) =>
  defineEvent({ aggregate: 'appointment', verb, topic: Topics.appointments, data });

export const appointmentBooked = event('booked', appointmentSnapshot);
export const appointmentCancelled = event('cancelled', appointmentSnapshot.extend({ reason: z.string() }));
export const appointmentFulfilled = event('fulfilled', appointmentSnapshot);
export const appointmentNoShow = event('noshow', appointmentSnapshot);
export const appointmentPaid = defineEvent({
  aggregate: 'appointment',
  verb: 'paid',
  topic: Topics.appointments,
  data: appointmentSnapshot.extend({ paymentMethod: z.enum(PAYMENT_METHODS), paidAt: z.iso.datetime() }),
});
export const appointmentsPurged = defineEvent({
  aggregate: 'appointments',
  verb: 'purged',
  topic: Topics.appointments,
  data: z.object({ archived: z.number().int().nonnegative(), cutoff: z.iso.datetime(), runAt: z.iso.datetime() }),
});

export type AppointmentSnapshot = z.infer<typeof appointmentSnapshot>;
