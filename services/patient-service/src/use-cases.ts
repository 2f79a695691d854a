import {
  authorize,
  authorizeNew,
  narrow,
  noteAccess,
  PreconditionFailedError,
  uuidv7,
  widestPermitted,
  type Caller,
  type Page,
  type Scope,
} from '@caregrid/platform';
import type { PatientFilter, PatientRepository } from './data/patient-repository.js';
import { toAccessLogEntry, type AccessLogEntry, type AccessLogPort } from './domain/access-log.js';
import { patientFacts } from './domain/patient-access.js';
import {
  assertPatientVersion,
  mergeOwnPatientRecord,
  mergePatient,
  todayUtc,
  toPatientRecord,
  type Patient,
  type PatientInput,
} from './domain/patient.js';

/** What the use cases need of the patient store (PatientRepository; an in-memory double in unit tests). */
export type PatientStore = Pick<
  PatientRepository,
  'create' | 'getWithCareTeam' | 'update' | 'delete' | 'list' | 'count' | 'recordCareAppointment'
>;

/** What an appointment event tells about a doctor and a patient: the care relation it gives or ends. */
export type CareAppointment = { appointmentId: string; patientId: string; doctorId: string; start: string };

/**
 * The patient use cases, one each, for every way in: the JSON routes, the FHIR
 * routes and the subscriptions call these, so all answer under the same rules
 * and the same access checks.
 */
export function patientUseCases(deps: { patients: PatientStore; auditTrail: AccessLogPort; now?: () => Date }) {
  const { patients, auditTrail } = deps;
  const today = () => todayUtc(deps.now?.() ?? new Date());
  /**
   * A search answers the records the caller may read (a patient: their own; a doctor: their care
   * team; staff: all), in JSON and FHIR alike. Who may search at all is the route's permission
   * (JSON: `list`; FHIR: `list` or `read`, so that a patient finds their own record): listing alone
   * would show a patient nothing, and a search never shows what its caller may not read.
   */
  const searchScope = (caller: Caller): Scope => narrow(caller, 'patient', 'read');

  /** A page of the patients the filter finds among those the caller may read. */
  async function list(caller: Caller, filter: PatientFilter, page: { limit: number; cursor?: string }): Promise<Page<Patient>> {
    const found = await patients.list({ ...filter, ...page }, searchScope(caller));
    noteAccess({ patientIds: found.items.map((patient) => patient.id) });
    return found;
  }

  /** Staff register a patient; the new id is noted before the write, so the audit entry commits with the record. */
  async function register(caller: Caller, input: PatientInput): Promise<Patient> {
    const id = uuidv7();
    authorizeNew(caller, 'patient', patientFacts(id), { refusal: 'You may not create patient records' });
    noteAccess({ resourceId: id, patientIds: [id] });
    return patients.create(toPatientRecord(input, today()), id);
  }

  return {
    register,

    /**
     * A conditional create (FHIR If-None-Exist): the patient `match` finds among those the caller
     * may read is answered instead of a new one; more than one is a 412, nothing created. Two
     * such creates at once may both create (as FHIR allows); the unique email refuses the second.
     */
    async registerUnlessFound(caller: Caller, input: PatientInput, match: PatientFilter): Promise<{ patient: Patient; created: boolean }> {
      const found = await list(caller, match, { limit: 2 });
      if (found.items.length > 1) throw new PreconditionFailedError('the condition (If-None-Exist) matches more than one patient');
      const [existing] = found.items;
      if (existing) {
        noteAccess({ resourceId: existing.id });
        return { patient: existing, created: false };
      }
      return { patient: await register(caller, input), created: true };
    },

    /** Staff, the patient themself, or a doctor in their care team (otherwise as if there were no such patient). */
    async read(caller: Caller, id: string): Promise<Patient> {
      const { patient, careTeam } = await patients.getWithCareTeam(id);
      authorize(caller, 'patient', 'read', patientFacts(patient.id, careTeam));
      return patient;
    },

    list,

    /** A page and how many patients the search finds in all (FHIR's `total`), under the same scope. */
    async search(
      caller: Caller,
      filter: PatientFilter,
      page: { limit: number; cursor?: string },
    ): Promise<Page<Patient> & { total: number }> {
      const [found, total] = await Promise.all([list(caller, filter, page), patients.count(filter, searchScope(caller))]);
      return { ...found, total };
    },

    /** How many patients the search finds, under the same scope (FHIR's _summary=count). */
    count(caller: Caller, filter: PatientFilter): Promise<number> {
      return patients.count(filter, searchScope(caller));
    },

    /**
     * Staff replace the whole record, checked under the row lock. `input` may be computed from the
     * current record (FHIR's PUT keeps what a Patient does not carry); `expectedVersion`: If-Match.
     */
    replace(
      caller: Caller,
      id: string,
      input: PatientInput | ((current: Patient) => PatientInput),
      expectedVersion?: number,
    ): Promise<Patient> {
      return patients.update(id, (current) => {
        authorize(caller, 'patient', 'update', patientFacts(current.id));
        assertPatientVersion(current, expectedVersion);
        return toPatientRecord(typeof input === 'function' ? input(current) : input, today());
      });
    },

    /**
     * A merge patch, by who is asking: staff change the whole record (identity, email, insurance,
     * the account link); a patient only their own contact details (any other member: 403, nothing
     * changed). The merged record is validated as a whole either way. `patch` may be computed from
     * the current record (FHIR's JSON Patch), only once the caller may change it; `expectedVersion`: If-Match.
     */
    patch(
      caller: Caller,
      id: string,
      patch: Record<string, unknown> | ((current: Patient) => Record<string, unknown>),
      expectedVersion?: number,
    ): Promise<Patient> {
      return patients.update(id, (current) => {
        const action = widestPermitted(caller, 'patient', ['update', 'update-contact'], patientFacts(current.id));
        assertPatientVersion(current, expectedVersion);
        const merge = typeof patch === 'function' ? patch(current) : patch;
        return action === 'update' ? mergePatient(current, merge, today()) : mergeOwnPatientRecord(current, merge, today());
      });
    },

    /** Admins only; soft: the record is kept, no longer served. */
    async remove(caller: Caller, id: string): Promise<void> {
      authorize(caller, 'patient', 'delete', patientFacts(id));
      await patients.delete(id);
    },

    /** Who accessed this patient's data, newest first, in the terms a patient knows: for that patient (or an admin). */
    async accessLog(caller: Caller, patientId: string, page: { limit: number; cursor?: string }): Promise<Page<AccessLogEntry>> {
      authorize(caller, 'audit', 'read-access-log', { id: patientId, patientId });
      const entries = await auditTrail(patientId, page);
      return { items: entries.items.map((entry) => toAccessLogEntry(entry, patientId)), nextCursor: entries.nextCursor };
    },

    /**
     * An appointment was booked: the doctor cares for the patient from then on. When the event
     * carries no time of its own, the appointment's start stands for it.
     */
    careAppointmentBooked(appointment: CareAppointment, at?: string): Promise<void> {
      return patients.recordCareAppointment({ ...careOf(appointment), state: 'booked', at: at ?? appointment.start });
    },

    /** An appointment was cancelled: it no longer puts the patient in the doctor's care team (final, whatever arrives later). */
    careAppointmentCancelled(appointment: CareAppointment, at?: string): Promise<void> {
      return patients.recordCareAppointment({ ...careOf(appointment), state: 'cancelled', at: at ?? appointment.start });
    },
  };
}

const careOf = ({ appointmentId, patientId, doctorId }: CareAppointment) => ({ appointmentId, patientId, doctorId });

export type PatientUseCases = ReturnType<typeof patientUseCases>;
