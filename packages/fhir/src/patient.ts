import type { PatientRecord } from '@caregrid/contracts';
import { compact, Systems, type Resource } from './systems.js';

export type FhirPatient = Resource & { resourceType: 'Patient'; id: string };

/**
 * Patient ← patient-service's record. The name is one string with us, so it
 * goes to `HumanName.text` only (splitting "Dr. Ann van der Berg" into
 * given/family would be a guess). Allergies are not Patient data in FHIR
 * (AllergyIntolerance) and are left out; the account link (`userId`) is ours
 * alone.
 */
export function toFhirPatient(patient: PatientRecord): FhirPatient {
  const { emergencyContact, insurance } = patient.details;
  return compact({
    resourceType: 'Patient' as const,
    id: patient.id,
    meta: { lastUpdated: patient.updatedAt },
    identifier: [
      { use: 'usual', system: Systems.patientId, value: patient.id },
      insurance && {
        use: 'secondary',
        type: { text: 'Insurance policy number' },
        system: Systems.insurancePolicy,
        value: insurance.policyNumber,
        assigner: { display: insurance.provider },
      },
    ].filter((identifier) => !!identifier),
    active: true,
    name: [{ use: 'official', text: patient.name }],
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
