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
import {
  applyMergePatch,
  calendarDate,
  canonicalJson,
  checkSelfServicePatch,
  InvalidInputError,
  PreconditionFailedError,
} from '@caregrid/platform';

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
  /** Counts the record's changes from 1 (FHIR's versionId; the ETag of If-Match). */
  version: number;
  createdAt: string;
  updatedAt: string;
};

/** The stored form: optional fields explicit, email compared case-insensitively. */
export type PatientRecord = Omit<Patient, 'id' | 'version' | 'createdAt' | 'updatedAt'>;

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

/** PATCH by the patient themselves: only the self-service members, otherwise like mergePatient. */
export function mergeOwnPatientRecord(current: Patient, patch: Record<string, unknown>, today = todayUtc()): PatientRecord {
  // Which members are the patient's is the access model's (SELF_SERVICE_FIELDS).
  checkSelfServicePatch('patient', patch);
  // The merged record is validated as a whole, as for staff.
  return mergePatient(current, patch, today);
}

/**
 * A conditional write (FHIR If-Match) names the version it read: if someone wrote since, nothing
 * is changed (412). Without one, the write is unconditional, as on the JSON API.
 */
export function assertPatientVersion(current: Patient, expected: number | undefined): void {
  if (expected !== undefined && expected !== current.version) {
    throw new PreconditionFailedError(
      `patient ${current.id} was changed since version ${expected} (it is at version ${current.version}): read it again`,
      { currentVersion: current.version },
    );
  }
}

/**
 * The merge patch that turns `current` into `next` (both as the JSON API's body): each member that
 * differs, `null` for one that is gone, and within `details` each of its members alike. So a
 * change made some other way (a FHIR JSON Patch) meets the same rules as the JSON API's PATCH.
 */
export function mergePatchBetween(current: PatientInput & PersonName, next: Record<string, unknown>): Record<string, unknown> {
  // Whatever the order of members (PostgreSQL's jsonb keeps its own).
  const differs = (a: unknown, b: unknown) => canonicalJson(a ?? null) !== canonicalJson(b ?? null);
  const patch: Record<string, unknown> = {};
  for (const [member, value] of Object.entries(next)) {
    if (member === 'details') continue;
    if (differs((current as Record<string, unknown>)[member], value)) patch[member] = value ?? null;
  }
  const before = (current.details ?? {}) as Record<string, unknown>;
  const after = (next.details ?? {}) as Record<string, unknown>;
  const details: Record<string, unknown> = {};
  for (const member of new Set([...Object.keys(before), ...Object.keys(after)]))
    if (differs(before[member], after[member])) details[member] = after[member] ?? null;
  if (Object.keys(details).length > 0) patch.details = details;
  return patch;
}
