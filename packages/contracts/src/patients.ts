import { z } from 'zod';
import { defineEvent, Topics } from './core.js';

// Events carry what consumers need (names for snapshots, counts for analytics),
// not the medical details: those stay behind patient-service's API.
const patientSnapshot = z.object({
  patientId: z.uuid(),
  name: z.string(),
  email: z.string(),
  gender: z.enum(['male', 'female', 'other', 'unknown']),
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
