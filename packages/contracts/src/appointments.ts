import { z } from 'zod';
import { defineEvent, Topics } from './core.js';
import { timestamp } from './fields.js';
import { APPOINTMENT_STATUSES, PAYMENT_METHODS, SERVICE_TYPES } from './vocabulary.js';

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
  /**
   * Starts at 1 and grows by one each time the appointment is moved: which time a notice or a
   * reminder was for (events from before moves existed carry none: 1).
   */
  version: z.number().int().positive().default(1),
});

const event = <S extends z.ZodType>(verb: string, data: S) =>
  defineEvent({ aggregate: 'appointment', verb, topic: Topics.appointments, data });

export const appointmentBooked = event('booked', appointmentSnapshot);
export const appointmentCancelled = event('cancelled', appointmentSnapshot.extend({ reason: z.string() }));
/** Moved to another time (same doctor, service and duration); `version` is the new one. */
export const appointmentRescheduled = event(
  'rescheduled',
  appointmentSnapshot.extend({ previousStart: z.iso.datetime(), previousEnd: z.iso.datetime() }),
);
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

// Named (not just left out of a strict object) so the 400 points at the field and the OpenAPI document says why.
const refused = (field: string) =>
  z
    .never({ error: `refused: the ${field} comes from the doctor's tariff, not from the client` })
    .optional()
    .describe(`Refused (400): the ${field} is set from the doctor's tariff for the service type.`);

/** appointment-service's booking request (`POST /appointments`); a FHIR booking becomes one. */
export const bookingRequest = z
  .strictObject({
    patientId: z.uuid(),
    doctorId: z.uuid(),
    start: timestamp,
    end: timestamp.optional(),
    durationMinutes: z.number().int().min(5).max(720).optional(),
    serviceType: z.enum(SERVICE_TYPES),
    reason: z.string().trim().min(1).max(1000).optional(),
    amount: refused('amount'),
    currency: refused('currency'),
  })
  .refine((b) => (b.end === undefined) !== (b.durationMinutes === undefined), {
    message: 'give either end or durationMinutes',
    path: ['end'],
  })
  .describe(
    "A booking request. The price is the clinic's: amount and currency are taken from the doctor's tariff (fees[serviceType]); a client that sends them is refused (400).",
  );
export type BookingRequest = z.input<typeof bookingRequest>;

/** appointment-service's lifecycle request (`POST /appointments/{id}/status`). */
export const statusChangeRequest = z.strictObject({
  status: z.enum(APPOINTMENT_STATUSES),
  reason: z.string().trim().max(1000).optional(),
});
export type StatusChangeRequest = z.input<typeof statusChangeRequest>;

/** appointment-service's move request (`POST /appointments/{id}/reschedule`): same doctor, service type and length. */
export const rescheduleRequest = z
  .strictObject({
    start: timestamp,
    expectedVersion: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('The version the client last saw: when the appointment has moved since, 409 and nothing changes.'),
  })
  .describe('A new start for a booked appointment; its end follows from its length. The same start again changes nothing (200, as it is).');
export type RescheduleRequest = z.input<typeof rescheduleRequest>;

/** appointment-service's answer for one appointment (`GET /appointments/{id}`, items of its searches). */
export const appointmentRecord = z.object({
  id: z.uuid(),
  patientId: z.uuid(),
  doctorId: z.uuid(),
  patientName: z.string(),
  doctorName: z.string(),
  specialization: z.string(),
  start: z.iso.datetime(),
  end: z.iso.datetime(),
  serviceType: z.enum(SERVICE_TYPES),
  reason: z.string().nullable(),
  ...money,
  status: z.enum(APPOINTMENT_STATUSES),
  cancellationReason: z.string().nullable(),
  payment: z.object({ method: z.enum(PAYMENT_METHODS), amount: z.number().int(), paidAt: z.iso.datetime() }).nullable(),
  /** 1 at booking, one more per move: the version its events carry, and `expectedVersion` of a move. */
  version: z.number().int().positive(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type AppointmentRecord = z.output<typeof appointmentRecord>;

/** appointment-service's `GET /appointments/slots?doctorId&date`: a doctor's free slots on a day. */
export const freeSlots = z.object({
  doctorId: z.uuid(),
  date: z.iso.date(),
  slots: z.array(z.object({ start: z.iso.datetime(), end: z.iso.datetime() })),
});
export type FreeSlots = z.output<typeof freeSlots>;
