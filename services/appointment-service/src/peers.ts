import { z } from 'zod';
import { doctorForBooking, patientForBooking, type DoctorForBooking, type PatientForBooking } from '@caregrid/contracts';
import { DependencyUnavailableError, issuesFromZod, RuleViolationError, type Sidecar } from '@caregrid/platform';

/** A peer's answer that does not match the contract we read it by (logged as the 503's cause). */
export class PeerContractViolation extends Error {
  constructor(
    readonly appId: string,
    readonly path: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(`${appId} GET ${path} answered outside its contract: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.name = 'PeerContractViolation';
  }
}

/**
 * The records a booking stands on, asked of their owners by Dapr service
 * invocation — appointment-service reads them as itself, with the rights the
 * access model gives its app-id — and parsed by their contract. An absent record
 * is a rule violation naming the field; a peer that does not answer properly
 * (a refusal included: that is a deployment fault, not the client's), or answers
 * something that is not the record, is unavailable (503).
 */
async function fetchRecord<S extends z.ZodType>(
  sidecar: Sidecar,
  appId: string,
  path: string,
  field: string,
  schema: S,
): Promise<z.output<S>> {
  const result = await sidecar.invoke(appId, 'GET', path);
  if (result.ok) {
    const record = schema.safeParse(result.body);
    if (!record.success) throw new DependencyUnavailableError(appId, new PeerContractViolation(appId, path, issuesFromZod(record.error)));
    return record.data;
  }
  if (result.status === 404) throw new RuleViolationError(`${field} does not name an existing record`, { field });
  throw new DependencyUnavailableError(appId, result.body);
}

function fetchPatient(sidecar: Sidecar, id: string): Promise<PatientForBooking> {
  return fetchRecord(sidecar, 'patient-service', `/patients/${id}`, 'patientId', patientForBooking);
}

function fetchDoctor(sidecar: Sidecar, id: string): Promise<DoctorForBooking> {
  return fetchRecord(sidecar, 'doctor-service', `/doctors/${id}`, 'doctorId', doctorForBooking);
}

/** What the use cases ask of the records' owners (over the sidecar in the app; in memory in unit tests). */
export type Peers = {
  /** The patient a booking is for; absent is a rule violation on `patientId`. */
  patient: (id: string) => Promise<PatientForBooking>;
  /** The doctor a booking or a slot stands on; absent is a rule violation on `doctorId`. */
  doctor: (id: string) => Promise<DoctorForBooking>;
  /** A doctor looked up rather than relied on (a Schedule read): absent is undefined, not a rule violation. */
  findDoctor: (id: string) => Promise<DoctorForBooking | undefined>;
};

/** The peers by Dapr service invocation, as appointment-service itself. */
export function peersOver(sidecar: Sidecar): Peers {
  return {
    patient: (id) => fetchPatient(sidecar, id),
    doctor: (id) => fetchDoctor(sidecar, id),
    findDoctor: async (id) => {
      try {
        return await fetchDoctor(sidecar, id);
      } catch (error) {
        if (error instanceof RuleViolationError) return undefined;
        throw error;
      }
    },
  };
}
