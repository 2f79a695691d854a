import { z } from 'zod';
import type { PatientRecord } from '@caregrid/contracts';
import { parseBody } from './appointment.js';
import { narrative } from './narrative.js';
import { compact, Systems, type Resource } from './systems.js';
import { identifierType } from './terminology.js';

export type FhirPatient = Resource & { resourceType: 'Patient'; id: string };

/** HumanName of a record: its parts, and the display name as `text`. */
export const humanName = (person: { name: string; family: string; given: string[] }) =>
  compact({ use: 'official' as const, text: person.name, family: person.family, given: person.given });

/**
 * Patient ← patient-service's record. Allergies are not Patient data in FHIR
 * (AllergyIntolerance) and are left out; the account link (`userId`) is ours
 * alone.
 */
export function toFhirPatient(patient: PatientRecord & { version?: number }): FhirPatient {
  const { emergencyContact, insurance } = patient.details;
  return compact({
    resourceType: 'Patient' as const,
    id: patient.id,
    // The version is patient-service's own (the JSON API answers none): FHIR's versionId and ETag.
    meta: compact({ versionId: patient.version === undefined ? undefined : String(patient.version), lastUpdated: patient.updatedAt }),
    text: narrative(`${patient.name}, ${patient.gender}, born ${patient.dateOfBirth}`),
    identifier: [
      { use: 'usual', type: identifierType('MR'), system: Systems.patientId, value: patient.id },
      // The policy number is the patient's own number with the insurer (a member's, v2's MB), not a group policy's.
      insurance && {
        use: 'secondary',
        type: identifierType('MB', 'Insurance policy number'),
        system: Systems.insurancePolicy,
        value: insurance.policyNumber,
        assigner: { display: insurance.provider },
      },
    ].filter((identifier) => !!identifier),
    active: true,
    name: [humanName(patient)],
    telecom: [
      { system: 'email', value: patient.email },
      patient.phone === null ? undefined : { system: 'phone', value: patient.phone },
    ].filter((contact) => !!contact),
    gender: patient.gender,
    birthDate: patient.dateOfBirth,
    address: patient.address === null ? undefined : [{ text: patient.address }],
    contact: emergencyContact && [
      {
        relationship: [{ text: emergencyContact.relation }],
        name: { text: emergencyContact.name },
        telecom: [{ system: 'phone', value: emergencyContact.phone }],
      },
    ],
  });
}

/** The weak ETag of a version (FHIR: `W/"<versionId>"`), as answered with every Patient. */
export const weakEtag = (version: number) => `W/"${version}"`;

/**
 * A patient as the JSON API's body takes it (`POST`/`PUT /patients`): what a Patient resource
 * says, for the service to validate with its own contract (patientInputSchema).
 */
export type PatientWrite = {
  name?: string;
  family?: string;
  given?: string[];
  email?: string;
  phone: string | null;
  address: string | null;
  dateOfBirth?: string;
  gender?: string;
  details: {
    allergies?: string[];
    emergencyContact?: { name?: string; phone?: string; relation?: string };
    insurance?: { provider?: string; policyNumber: string };
  };
  userId: string | null;
};

const telecomShape = z.object({ system: z.string(), value: z.string(), use: z.string().optional() }).strict();
const textOnly = z.object({ text: z.string() }).strict();
/**
 * The Patient elements CareGrid keeps (the members toFhirPatient answers); any other element is
 * refused rather than silently dropped. `meta` and the narrative `text` are the server's: ignored.
 */
const patientShape = z
  .object({
    resourceType: z.literal('Patient'),
    id: z.string().optional(),
    meta: z.unknown().optional(),
    text: z.unknown().optional(),
    identifier: z
      .array(
        z
          .object({
            use: z.string().optional(),
            type: z.unknown().optional(),
            system: z.string(),
            value: z.string(),
            assigner: z.object({ display: z.string() }).strict().optional(),
          })
          .strict(),
      )
      .optional(),
    active: z.literal(true, 'only active patients are kept (an admin deletes one by the JSON API)').optional(),
    name: z
      .array(
        z
          .object({
            use: z.string().optional(),
            text: z.string().optional(),
            family: z.string().optional(),
            given: z.array(z.string()).optional(),
          })
          .strict(),
      )
      .length(1, 'a patient has exactly one name'),
    telecom: z.array(telecomShape).optional(),
    gender: z.string().optional(),
    birthDate: z.string().optional(),
    address: z
      .array(z.object({ use: z.string().optional(), text: z.string() }).strict())
      .max(1, 'one address, as text')
      .optional(),
    contact: z
      .array(z.object({ relationship: z.array(textOnly).length(1), name: textOnly, telecom: z.array(telecomShape).length(1) }).strict())
      .max(1, 'one emergency contact')
      .optional(),
  })
  .strict();

/** The Patient's shape; an element not kept is an issue at that element (zod names the object). */
function parsePatient(resource: unknown): z.output<typeof patientShape> {
  try {
    return parseBody(patientShape, resource);
  } catch (error) {
    if (!(error instanceof z.ZodError)) throw error;
    throw new z.ZodError(
      error.issues.flatMap((issue): z.core.$ZodIssue[] =>
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => ({ ...issue, path: [...issue.path, key], message: `${key} is not kept by CareGrid` }))
          : [issue],
      ),
    );
  }
}

/**
 * Patient → the JSON API's body (PatientWrite). Ours only: our patient-id identifier must be the
 * record's (`current`; none on a create), at most one insurance-policy identifier (its assigner
 * the insurer), one email and at most one phone, one address as text, at most one contact (the
 * emergency contact: relationship, name and a phone). `name.text` counts only where it differs
 * from the current display name (then it is the name, split as the JSON API splits it). What a
 * Patient does not carry (allergies, the account link) stays as `current` has it. Shape errors
 * are a ZodError at `body.<element>`; the values are the JSON contract's to check.
 */
export function patientFromFhir(resource: unknown, current?: PatientRecord): PatientWrite {
  const body = parsePatient(resource);
  const issues: z.core.$ZodIssue[] = [];
  const issue = (path: (string | number)[], message: string) =>
    issues.push({ code: 'custom', path: ['body', ...path], message, input: undefined });
  // FHIR's update: the id is required and must be the URL's.
  if (current && body.id !== current.id) issue(['id'], `must be the id of the record written (${current.id})`);
  let insurance: PatientWrite['details']['insurance'];
  (body.identifier ?? []).forEach((identifier, index) => {
    if (identifier.system === Systems.patientId) {
      if (identifier.value !== current?.id)
        issue(['identifier', index, 'value'], 'our patient id is assigned by CareGrid and never changes');
    } else if (identifier.system === Systems.insurancePolicy && insurance === undefined) {
      insurance = { policyNumber: identifier.value, provider: identifier.assigner?.display };
      if (insurance.provider === undefined) issue(['identifier', index, 'assigner'], 'the insurer is required (assigner.display)');
    } else {
      issue(['identifier', index, 'system'], `CareGrid keeps one ${Systems.insurancePolicy} identifier (and its own ${Systems.patientId})`);
    }
  });
  const telecom = body.telecom ?? [];
  const emails = telecom.filter((contact) => contact.system === 'email');
  const phones = telecom.filter((contact) => contact.system === 'phone');
  if (emails.length !== 1) issue(['telecom'], 'exactly one email is required');
  if (phones.length > 1) issue(['telecom'], 'at most one phone is kept');
  telecom.forEach((contact, index) => {
    if (contact.system !== 'email' && contact.system !== 'phone')
      issue(['telecom', index, 'system'], 'CareGrid keeps an email and a phone');
  });
  const [contact] = body.contact ?? [];
  if (contact && contact.telecom[0]!.system !== 'phone')
    issue(['contact', 0, 'telecom', 0, 'system'], 'the emergency contact is reached by phone');
  if (issues.length > 0) throw new z.ZodError(issues);
  const [name] = body.name;
  return {
    ...(name!.text !== undefined && name!.text !== current?.name ? { name: name!.text } : {}),
    ...(name!.family !== undefined ? { family: name!.family } : {}),
    ...(name!.given !== undefined ? { given: name!.given } : {}),
    email: emails[0]?.value,
    phone: phones[0]?.value ?? null,
    address: body.address?.[0]?.text ?? null,
    dateOfBirth: body.birthDate,
    gender: body.gender,
    details: compact({
      allergies: current?.details.allergies,
      emergencyContact: contact && { name: contact.name.text, phone: contact.telecom[0]!.value, relation: contact.relationship[0]!.text },
      insurance,
    }),
    userId: current?.userId ?? null,
  };
}

/** A member of the JSON API's patient (a validation issue's path) → the Patient element that carries it. */
const ELEMENT_OF: [RegExp, string][] = [
  [/^name$/, 'name.0.text'],
  [/^family$/, 'name.0.family'],
  [/^given(\.\d+)?$/, 'name.0.given$1'],
  [/^(email|phone)$/, 'telecom'],
  [/^address$/, 'address.0.text'],
  [/^dateOfBirth$/, 'birthDate'],
  [/^details\.emergencyContact\.name$/, 'contact.0.name.text'],
  [/^details\.emergencyContact\.phone$/, 'contact.0.telecom.0.value'],
  [/^details\.emergencyContact\.relation$/, 'contact.0.relationship.0.text'],
  [/^details\.emergencyContact$/, 'contact.0'],
  [/^details\.insurance\.policyNumber$/, 'identifier'],
  [/^details\.insurance(\.provider)?$/, 'identifier'],
];

/** A JSON API field path (`dateOfBirth`, `details.insurance.provider`) → `body.<Patient element>`; others as they are. */
export function patientElementOf(path: string): string {
  for (const [pattern, element] of ELEMENT_OF) if (pattern.test(path)) return `body.${path.replace(pattern, element)}`;
  return path === 'gender' ? 'body.gender' : path;
}
