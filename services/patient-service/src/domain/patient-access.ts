import type { RecordFacts } from '@caregrid/platform';

/** What the access model decides a patient record on: whose it is, and which doctors care for them. */
export const patientFacts = (patientId: string, careTeam: readonly string[] = []): RecordFacts & { id: string } => ({
  id: patientId,
  patientId,
  careTeam,
});
