import type { PatientRecord } from '@caregrid/contracts';
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
export function toFhirPatient(patient: PatientRecord): FhirPatient {
  const { emergencyContact, insurance } = patient.details;
  return compact({
    resourceType: 'Patient' as const,
    id: patient.id,
    meta: { lastUpdated: patient.updatedAt },
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
