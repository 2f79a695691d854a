import { z } from 'zod';
import {
  displayName,
  GENDERS,
  namePatchBase,
  patientDetailsSchema,
  type PersonName,
  personNameInput,
  personNameOf,
  withPersonName,
} from '@caregrid/contracts';
import { applyMergePatch, calendarDate, ForbiddenError, InvalidInputError } from '@caregrid/platform';

const text = (max: number) => z.string().trim().min(1).max(max);

/** A complete patient record as a client writes it (POST, PUT, and a PATCH's result). */
export const patientInputSchema = withPersonName(
  z.strictObject({
    ...personNameInput,
    email: z.string().trim().toLowerCase().pipe(z.email().max(254)),
    phone: text(40).nullable().optional(),
    address: text(500).nullable().optional(),
    dateOfBirth: calendarDate,
    gender: z.enum(GENDERS),
    details: patientDetailsSchema.optional(),
    userId: z.uuid().nullable().optional(),
  }),
);

export type PatientInput = z.infer<typeof patientInputSchema>;
export type PatientDetails = z.infer<typeof patientDetailsSchema>;

export type Patient = {
  id: string;
  /** The display name, derived from given and family. */
  name: string;
  family: string;
  given: string[];
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
  const name = personNameOf(input);
  if ('path' in name) throw new InvalidInputError(`${name.path} ${name.message}`, [name]);
  return {
    name: displayName(name),
    ...name,
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
export function toPatientInput(patient: Patient): PatientInput & PersonName {
  return {
    family: patient.family,
    given: patient.given,
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
  const merged = patientInputSchema.safeParse(applyMergePatch(namePatchBase(toPatientInput(current), patch), patch));
  if (!merged.success) {
    throw new InvalidInputError(
      'the patched patient is not valid',
      merged.error.issues.map((issue) => ({ path: issue.path.join('.') || '(root)', message: issue.message })),
    );
  }
  return toPatientRecord(merged.data, today);
}

export const todayUtc = (now = new Date()) => now.toISOString().slice(0, 10);

/**
 * What a patient may change on their own record (RFC 7396 merge patch
 * members): how to reach them. Identity, the account link, medical and
 * insurance data are staff actions.
 */
export const patientSelfPatchSchema = z.strictObject({
  phone: text(40).nullable().optional(),
  address: text(500).nullable().optional(),
  details: z.strictObject({ emergencyContact: patientDetailsSchema.shape.emergencyContact.unwrap().nullable().optional() }).optional(),
});

const OWN_DETAILS = Object.keys(patientSelfPatchSchema.shape.details.unwrap().shape);
export const OWN_RECORD_FIELDS = [
  ...Object.keys(patientSelfPatchSchema.shape).filter((field) => field !== 'details'),
  ...OWN_DETAILS.map((field) => `details.${field}`),
];

/** Members of a patch outside the self-service ones, as dotted paths (`details: null` would drop allergies too). */
function refusedMembers(patch: Record<string, unknown>): string[] {
  const refused = Object.keys(patch).filter((field) => !Object.hasOwn(patientSelfPatchSchema.shape, field));
  if (Object.hasOwn(patch, 'details')) {
    const details = patch.details;
    if (typeof details !== 'object' || details === null || Array.isArray(details)) refused.push('details');
    else
      refused.push(
        ...Object.keys(details)
          .filter((field) => !OWN_DETAILS.includes(field))
          .map((field) => `details.${field}`),
      );
  }
  return refused;
}

/** PATCH by the patient themselves: only the self-service members, otherwise like mergePatient. */
export function mergeOwnPatientRecord(current: Patient, patch: Record<string, unknown>, today = todayUtc()): PatientRecord {
  const refused = refusedMembers(patch);
  if (refused.length > 0) {
    throw new ForbiddenError(`a patient may change only ${OWN_RECORD_FIELDS.join(', ')} of their own record; the rest is for staff`, {
      allowedFields: OWN_RECORD_FIELDS,
      refusedFields: refused,
    });
  }
  // The merged record is validated as a whole, as for staff.
  return mergePatient(current, patch, today);
}
