import { z } from 'zod';
import {
  displayName,
  feesSchema,
  namePatchBase,
  personNameInput,
  personNameOf,
  withPersonName,
  SPECIALIZATIONS,
  WEEKDAYS,
  workingHoursSchema,
  type PersonName,
} from '@caregrid/contracts';
import { applyMergePatch, checkSelfServicePatch, ConflictError, InvalidInputError } from '@caregrid/platform';

export { WEEKDAYS };

const text = (max: number) => z.string().trim().min(1).max(max);
/** IANA zone names the runtime knows (Intl rejects unknown ones). */
export const isTimeZone = (zone: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone.includes('/') || zone === 'UTC';
  } catch {
    return false;
  }
};

/** ISO 4217 codes the runtime knows (a well-formed but made-up code such as XYZ is refused). */
const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));
export const currencySchema = z.string().refine((code) => CURRENCIES.has(code), 'must be an ISO 4217 currency code such as EUR');
export const DEFAULT_CURRENCY = 'EUR';

export const doctorInputSchema = withPersonName(
  z.strictObject({
    ...personNameInput,
    email: z.string().trim().toLowerCase().pipe(z.email().max(254)),
    phone: text(40).nullable().optional(),
    specialization: z.enum(SPECIALIZATIONS),
    licenseNumber: text(100),
    yearsOfExperience: z.number().int().min(0).max(80),
    hospitalName: text(200),
    department: text(200),
    accepting: z.boolean().default(true),
    workingHours: workingHoursSchema.default({}),
    slotMinutes: z.number().int().min(5).max(480).default(30),
    timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin').default('UTC'),
    /** The clinic's price per service type (minor units of `currency`); a type left out is not bookable. */
    fees: feesSchema.default({}),
    currency: currencySchema.default(DEFAULT_CURRENCY),
    /** Optimistic locking for clients that cannot send If-Match. */
    version: z.number().int().positive().optional(),
  }),
);

export type DoctorInput = z.infer<typeof doctorInputSchema>;
export type WorkingHours = z.infer<typeof workingHoursSchema>;

/** `name` is the display name, derived from given and family. */
export type DoctorRecord = Omit<DoctorInput, 'version' | 'phone' | 'name' | 'family' | 'given'> & {
  phone: string | null;
  name: string;
} & PersonName;

export type Doctor = DoctorRecord & { id: string; version: number; createdAt: string; updatedAt: string };

export function toDoctorRecord(input: DoctorInput): DoctorRecord {
  const { version: _version, name: _name, family: _family, given: _given, ...rest } = input;
  const name = personNameOf(input);
  if ('path' in name) throw new InvalidInputError(`${name.path} ${name.message}`, [name]);
  return { ...rest, phone: input.phone ?? null, name: displayName(name), ...name };
}

export function toDoctorInput(doctor: Doctor): Record<string, unknown> & PersonName {
  // Without the display name: it is derived from family and given, which a patch may change.
  const { id: _id, version: _version, createdAt: _c, updatedAt: _u, name: _name, ...input } = doctor;
  return input;
}

/** PATCH: RFC 7396 merge onto the current doctor, then validated as a whole. */
export function mergeDoctor(current: Doctor, patch: Record<string, unknown>): DoctorRecord {
  const { version: _version, ...changes } = patch;
  const merged = doctorInputSchema.safeParse(applyMergePatch(namePatchBase(toDoctorInput(current), changes), changes));
  if (!merged.success) {
    throw new InvalidInputError(
      'the patched doctor is not valid',
      merged.error.issues.map((issue) => ({ path: issue.path.join('.') || '(root)', message: issue.message })),
    );
  }
  return toDoctorRecord(merged.data);
}

/** PATCH by the doctor themselves: only the self-service members, otherwise like mergeDoctor. */
export function mergeOwnDoctorProfile(current: Doctor, patch: Record<string, unknown>): DoctorRecord {
  // Which members are the doctor's is the access model's (SELF_SERVICE_FIELDS); `version` is the optimistic-locking token.
  checkSelfServicePatch('doctor', patch, { besides: ['version'] });
  // The merged profile is validated as a whole, as for staff.
  return mergeDoctor(current, patch);
}

/**
 * Optimistic locking: a writer states the version it read (If-Match or body
 * `version`); if someone else wrote since, the write is refused.
 */
export function assertVersion(current: Doctor, expected: number | undefined): void {
  if (expected !== undefined && expected !== current.version) {
    throw new ConflictError(`doctor ${current.id} was changed by someone else (version ${current.version}, you sent ${expected})`, {
      currentVersion: current.version,
    });
  }
}

// Shared with patient-service's FHIR writes; re-exported where doctor-service's routes take it from.
export { versionFromIfMatch } from '@caregrid/platform';

export const etagOf = (doctor: Pick<Doctor, 'version'>) => `"${doctor.version}"`;
