import { patientCreated, patientDeleted, patientUpdated } from '@caregrid/contracts';
import { outboxEvent } from '@caregrid/platform';
import type { Patient } from '../domain/patient.js';

export type PatientEventKind = 'created' | 'updated' | 'deleted';

/** The outbox row for a change; consumers get names for snapshots, never the medical details. */
export function patientEvent(kind: PatientEventKind, patient: Patient) {
  if (kind === 'deleted') return outboxEvent(patientDeleted, patient.id, { patientId: patient.id });
  const { id, name, family, given, email, gender, dateOfBirth, userId } = patient;
  return outboxEvent(kind === 'created' ? patientCreated : patientUpdated, id, {
    patientId: id,
    name,
    family,
    given,
    email,
    gender,
    dateOfBirth,
    userId,
  });
}
