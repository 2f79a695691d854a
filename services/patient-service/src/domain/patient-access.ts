import { widestPermitted, type Caller, type RecordFacts } from '@caregrid/platform';
import { mergeOwnPatientRecord, mergePatient, type Patient, type PatientRecord } from './patient.js';

/** What the access model decides a patient record on: whose it is, and which doctors care for them. */
export const patientFacts = (patientId: string, careTeam: readonly string[] = []): RecordFacts & { id: string } => ({
  id: patientId,
  patientId,
  careTeam,
});

/**
 * PATCH, by who is asking: staff change the whole record (identity, email,
 * insurance, the account link); a patient only their own contact details.
 */
export function patchPatient(caller: Caller, current: Patient, patch: Record<string, unknown>, today: string): PatientRecord {
  const action = widestPermitted(caller, 'patient', ['update', 'update-contact'], patientFacts(current.id));
  return action === 'update' ? mergePatient(current, patch, today) : mergeOwnPatientRecord(current, patch, today);
}
