import { z } from 'zod';
import { applyMergePatch, calendarDate, InvalidInputError } from '@caregrid/platform';

export const GENDERS = ['male', 'female', 'other', 'unknown'] as const;

const text = (max: number) => z.string().trim().min(1).max(max);

export const patientDetailsSchema = z.strictObject({
  allergies: z.array(text(100)).max(100).optional(),
  emergencyContact: z.strictObject({ name: text(200), phone: text(40), relation: text(60) }).optional(),
  insurance: z.strictObject({ provider: text(200), policyNumber: text(100) }).optional(),
});

/** A complete patient record as a client writes it (POST, PUT, and a PATCH's result). */
export const patientInputSchema = z.strictObject({
  name: text(200),
  email: z.string().trim().toLowerCase().pipe(z.email().max(254)),
  phone: text(40).nullable().optional(),
  address: text(500).nullable().optional(),
  dateOfBirth: calendarDate,
  gender: z.enum(GENDERS),
  details: patientDetailsSchema.optional(),
  userId: z.uuid().nullable().optional(),
});

export type PatientInput = z.infer<typeof patientInputSchema>;
export type PatientDetails = z.infer<typeof patientDetailsSchema>;

export type Patient = {
  id: string;
  name: string;
  email: string;
  phone: string | null;
  address: string | null;
  dateOfBirth: string;
  gender: (typeof GENDERS)[number];
  details: PatientDetails;
  userId: string | null;
  createdAt: string;
  updatedAt: string;
};

/** The stored form: optional fields explicit, email compared case-insensitively. */
export type PatientRecord = Omit<Patient, 'id' | 'createdAt' | 'updatedAt'>;

/** Rules beyond shape: normalises, and refuses a birth date in the future. */
export function toPatientRecord(input: PatientInput, today: string): PatientRecord {
  if (input.dateOfBirth > today) {
    throw new InvalidInputError('dateOfBirth is in the future', [{ path: 'dateOfBirth', message: 'must not be in the future' }]);
  }
  return {
    name: input.name,
    email: input.email.trim().toLowerCase(),
    phone: input.phone ?? null,
    address: input.address ?? null,
    dateOfBirth: input.dateOfBirth,
    gender: input.gender,
    details: input.details ?? {},
    userId: input.userId ?? null,
  };
}

/** The record as a client would have written it in full, for merge-patching. */
export function toPatientInput(patient: Patient): PatientInput {
  return {
    name: patient.name,
    email: patient.email,
    phone: patient.phone,
    address: patient.address,
    dateOfBirth: patient.dateOfBirth,
    gender: patient.gender,
    details: patient.details,
    userId: patient.userId,
  };
}

/** PATCH: RFC 7396 merge, then the result must be a valid patient as a whole. */
export function mergePatient(current: Patient, patch: unknown, today: string): PatientRecord {
  const merged = patientInputSchema.safeParse(applyMergePatch(toPatientInput(current), patch));
  if (!merged.success) {
    throw new InvalidInputError(
      'the patched patient is not valid',
      merged.error.issues.map((issue) => ({ path: issue.path.join('.') || '(root)', message: issue.message })),
    );
  }
  return toPatientRecord(merged.data, today);
}

export const todayUtc = (now = new Date()) => now.toISOString().slice(0, 10);
