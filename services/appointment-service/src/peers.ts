import { DependencyUnavailableError, ForbiddenError, RuleViolationError, type Sidecar } from '@caregrid/platform';
import type { DoctorSchedule } from './domain/appointment.js';

export type PatientRef = { id: string; name: string };
export type DoctorRef = DoctorSchedule & { id: string; name: string; specialization: string };

/**
 * The records a booking stands on, asked of their owners by Dapr service
 * invocation (the caller's identity and trace travel along). An absent record
 * is a rule violation naming the field; a peer that does not answer properly
 * is unavailable (503).
 */
async function fetchRecord<T>(sidecar: Sidecar, appId: string, path: string, field: string): Promise<T> {
  const result = await sidecar.invoke<T>(appId, 'GET', path);
  if (result.ok) return result.body;
  if (result.status === 404) throw new RuleViolationError(`${field} does not name an existing record`, { field });
  if (result.status === 403) throw new ForbiddenError(`You may not book for this ${field.replace(/Id$/, '')}`);
  throw new DependencyUnavailableError(appId, result.body);
}

export function fetchPatient(sidecar: Sidecar, id: string): Promise<PatientRef> {
  return fetchRecord<PatientRef>(sidecar, 'patient-service', `/patients/${id}`, 'patientId');
}

export function fetchDoctor(sidecar: Sidecar, id: string): Promise<DoctorRef> {
  return fetchRecord<DoctorRef>(sidecar, 'doctor-service', `/doctors/${id}`, 'doctorId');
}
