import { z } from 'zod';
import { money } from './appointments.js';
import { defineEvent, Topics } from './core.js';
import { SERVICE_TYPES, SPECIALIZATIONS, WEEKDAYS } from './vocabulary.js';

/**
 * A doctor's tariff: the price of each service type they offer, in integer
 * minor units of the doctor's one currency. A service type missing here is not
 * offered (not bookable); an unknown service type is refused.
 */
export const feesSchema = z.partialRecord(z.enum(SERVICE_TYPES), money.amount);
export type Fees = z.infer<typeof feesSchema>;

const CLOCK = /^([01]\d|2[0-3]):[0-5]\d$/;
const clock = z.string().regex(CLOCK, 'must be HH:MM (00:00–23:59)');

const interval = z
  .strictObject({ start: clock, end: clock })
  .refine((i) => !CLOCK.test(i.start) || !CLOCK.test(i.end) || i.start < i.end, { message: 'start must be before end', path: ['end'] });

/** Opening intervals of one day, sorted; touching is fine, overlapping is not. */
export const dayHoursSchema = z
  .array(interval)
  .max(12)
  .superRefine((intervals, ctx) => {
    const sorted = intervals.map((value, index) => ({ ...value, index })).sort((a, b) => a.start.localeCompare(b.start));
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.start < sorted[i - 1]!.end) {
        ctx.addIssue({ code: 'custom', path: [sorted[i]!.index], message: `overlaps ${sorted[i - 1]!.start}–${sorted[i - 1]!.end}` });
      }
    }
  })
  .transform((intervals) => [...intervals].sort((a, b) => a.start.localeCompare(b.start)));

export const workingHoursSchema = z.strictObject(
  Object.fromEntries(WEEKDAYS.map((day) => [day, dayHoursSchema.optional()])) as Record<
    (typeof WEEKDAYS)[number],
    z.ZodOptional<typeof dayHoursSchema>
  >,
);

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
  // Absent in events published before names had parts.
  family: z.string().optional(),
  given: z.array(z.string()).optional(),
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
  data: z.object({
    doctorId: z.uuid(),
    // The doctor's version the deletion made (one past the last update), so that readers never let an
    // older event undo it. Absent in events published before deletions carried it.
    version: z.number().int().optional(),
  }),
});

export type DoctorSnapshot = z.infer<typeof doctorSnapshot>;

/** doctor-service's answer for one doctor (`GET /doctors/{id}`, items of its searches); @caregrid/fhir maps it. */
export const doctorRecord = z.object({
  id: z.uuid(),
  name: z.string().describe('Display name: the given names, then the family name'),
  family: z.string(),
  given: z.array(z.string()),
  email: z.string(),
  phone: z.string().nullable(),
  specialization: z.enum(SPECIALIZATIONS),
  licenseNumber: z.string(),
  yearsOfExperience: z.number().int(),
  hospitalName: z.string(),
  department: z.string(),
  accepting: z.boolean(),
  workingHours: workingHoursSchema,
  slotMinutes: z.number().int(),
  timeZone: z.string(),
  fees: feesSchema.describe('Price per service type in integer minor units of currency; a type left out is not bookable'),
  currency: money.currency,
  version: z.number().int(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type DoctorRecord = z.output<typeof doctorRecord>;

/**
 * What a patient, or an account not linked to any record, sees of a doctor: enough to choose one
 * and book (who, what, where, when, at what price), and no way to reach or impersonate them
 * outside the clinic (no email, phone or licence number). Parsing a record through it strips
 * everything else: the projection is a list of what may be shown, not of what is hidden.
 */
export const publicDoctor = doctorRecord
  .pick({
    id: true,
    name: true,
    family: true,
    given: true,
    specialization: true,
    hospitalName: true,
    department: true,
    accepting: true,
    workingHours: true,
    slotMinutes: true,
    timeZone: true,
    fees: true,
    currency: true,
    version: true,
  })
  .describe("A doctor's public profile: what patients see (no email, phone or licence number)");
export type PublicDoctor = z.output<typeof publicDoctor>;
/** What doctor-service answers a reader: the whole record (staff, the doctor themself) or the public profile. */
export type DoctorView = DoctorRecord | PublicDoctor;
