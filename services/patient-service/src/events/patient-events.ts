import { patientCreated, patientDeleted, patientUpdated } from '@caregrid/contracts';
import { uuidv7 } from '@caregrid/platform';
import type { Patient } from '../domain/patient.js';

export type PatientEventKind = 'created' | 'updated' | 'deleted';

const contracts = { created: patientCreated, updated: patientUpdated, deleted: patientDeleted };

/** The outbox row for a change: validated against the shared contract before it is queued. */
export function patientEvent(kind: PatientEventKind, patient: Patient) {
  const contract = contracts[kind];
  const data =
    kind === 'deleted'
      ? { patientId: patient.id }
      : {
          patientId: patient.id,
          name: patient.name,
          email: patient.email,
          gender: patient.gender,
          dateOfBirth: patient.dateOfBirth,
          userId: patient.userId,
        };
  return { id: uuidv7(), topic: contract.topic, type: contract.type, subject: patient.id, data: contract.data.parse(data) };
}
