import { z } from 'zod';
import { defineEvent, Topics } from './core.js';

export const GENDERS = ['male', 'female', 'other', 'unknown'] as const;

// Events carry what consumers need (names for snapshots, counts for analytics),
// not the medical details: those stay behind patient-service's API.
const patientSnapshot = z.object({
  patientId: z.uuid(),
  name: z.string(),
  // Absent in events published before names had parts.
  family: z.string().optional(),
  given: z.array(z.string()).optional(),
  email: z.string(),
  gender: z.enum(GENDERS),
  dateOfBirth: z.iso.date(),
  userId: z.uuid().nullable(),
});

export const patientCreated = defineEvent({ aggregate: 'patient', verb: 'created', topic: Topics.patients, data: patientSnapshot });
export const patientUpdated = defineEvent({ aggregate: 'patient', verb: 'updated', topic: Topics.patients, data: patientSnapshot });
export const patientDeleted = defineEvent({
  aggregate: 'patient',
  verb: 'deleted',
  topic: Topics.patients,
  data: z.object({ patientId: z.uuid() }),
});

/** What appointment-service reads of patient-service's `GET /patients/{id}` to book (tolerant: other fields ignored). */
export const patientForBooking = z.object({ id: z.uuid(), name: z.string() });
export type PatientForBooking = z.infer<typeof patientForBooking>;

export type PatientSnapshot = z.infer<typeof patientSnapshot>;

const text = (max: number) => z.string().trim().min(1).max(max);

export const patientDetailsSchema = z.strictObject({
  allergies: z.array(text(100)).max(100).optional(),
  emergencyContact: z.strictObject({ name: text(200), phone: text(40), relation: text(60) }).optional(),
  insurance: z.strictObject({ provider: text(200), policyNumber: text(100) }).optional(),
});

/** patient-service's answer for one patient (`GET /patients/{id}`, items of its searches); @caregrid/fhir maps it. */
export const patientRecord = z.object({
  id: z.uuid(),
  name: z.string().describe('Display name: the given names, then the family name'),
  family: z.string(),
  given: z.array(z.string()),
  email: z.string(),
  phone: z.string().nullable(),
  address: z.string().nullable(),
  dateOfBirth: z.iso.date(),
  gender: z.enum(GENDERS),
  details: patientDetailsSchema,
  userId: z.uuid().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type PatientRecord = z.output<typeof patientRecord>;
