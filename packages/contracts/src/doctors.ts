import { z } from 'zod';
import { money, SERVICE_TYPES } from './appointments.js';
import { defineEvent, Topics } from './core.js';

export const SPECIALIZATIONS = [
  'cardiology',
  'dermatology',
  'neurology',
  'orthopedics',
  'pediatrics',
  'psychiatry',
  'radiology',
  'surgery',
  'urology',
  'general-practice',
] as const;

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/**
 * A doctor's tariff: the price of each service type they offer, in integer
 * minor units of the doctor's one currency. A service type missing here is not
 * offered (not bookable); an unknown service type is refused.
 */
export const feesSchema = z.partialRecord(z.enum(SERVICE_TYPES), money.amount);
export type Fees = z.infer<typeof feesSchema>;

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (00:00–23:59)');

/**
 * What appointment-service reads of doctor-service's `GET /doctors/{id}` to
 * book and price a visit. A tolerant reader: other fields of the record are
 * ignored; a response without these is not a doctor it can book with.
 */
export const doctorForBooking = z.object({
  id: z.uuid(),
  name: z.string(),
  specialization: z.string(),
  accepting: z.boolean(),
  slotMinutes: z.number().int().positive(),
  timeZone: z.string(),
  workingHours: z.partialRecord(z.enum(WEEKDAYS), z.array(z.object({ start: clock, end: clock }))),
  fees: feesSchema,
  currency: money.currency,
});
export type DoctorForBooking = z.infer<typeof doctorForBooking>;

const doctorSnapshot = z.object({
  doctorId: z.uuid(),
  name: z.string(),
  email: z.string(),
  specialization: z.enum(SPECIALIZATIONS),
  hospitalName: z.string(),
  department: z.string(),
  accepting: z.boolean(),
  slotMinutes: z.number().int(),
  timeZone: z.string(),
  // Absent in events published before doctors had a tariff.
  fees: feesSchema.optional(),
  currency: money.currency.optional(),
  version: z.number().int(),
});

export const doctorCreated = defineEvent({ aggregate: 'doctor', verb: 'created', topic: Topics.doctors, data: doctorSnapshot });
export const doctorUpdated = defineEvent({ aggregate: 'doctor', verb: 'updated', topic: Topics.doctors, data: doctorSnapshot });
export const doctorDeleted = defineEvent({
  aggregate: 'doctor',
  verb: 'deleted',
  topic: Topics.doctors,
  data: z.object({ doctorId: z.uuid() }),
});

export type DoctorSnapshot = z.infer<typeof doctorSnapshot>;
