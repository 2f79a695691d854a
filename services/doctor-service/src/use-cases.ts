import type { PublicDoctor } from '@caregrid/contracts';
import { authorize, authorizeNew, widestPermitted, type Caller, type Page } from '@caregrid/platform';
import type { DoctorFilter, DoctorRepository } from './data/doctor-repository.js';
import { doctorFacts, doctorView, searchTextScope } from './domain/doctor-access.js';
import { mergeDoctor, mergeOwnDoctorProfile, toDoctorRecord, type Doctor, type DoctorInput } from './domain/doctor.js';

/** A doctor as a reader gets them: the whole record, or the public profile (see doctorView). */
export type DoctorAnswer = Doctor | PublicDoctor;
export type DoctorSearch = Omit<DoctorFilter, 'limit' | 'cursor' | 'searchEmail'>;

/** What the use cases need of the doctor store (DoctorRepository; an in-memory double in unit tests). */
export type DoctorStore = Pick<DoctorRepository, 'create' | 'get' | 'update' | 'delete' | 'list' | 'count'>;

/**
 * The doctor use cases, for the JSON and the FHIR routes alike: each doctor as the caller may see
 * them, a search text that matches email addresses only for those who may read them, and every
 * write under the access model's record checks. `expectedVersion` is the version the writer read
 * (optimistic locking; undefined: any).
 */
export function doctorUseCases(doctors: DoctorStore) {
  async function list(caller: Caller, search: DoctorSearch, page: { limit: number; cursor?: string }): Promise<Page<DoctorAnswer>> {
    const found = await doctors.list({ ...search, ...searchTextScope(caller, search.q), ...page });
    return { items: found.items.map((doctor) => doctorView(caller, doctor)), nextCursor: found.nextCursor };
  }

  return {
    /** Admins add a doctor; the writer gets the whole record back. */
    async create(caller: Caller, input: DoctorInput): Promise<Doctor> {
      authorizeNew(caller, 'doctor', {}, { refusal: 'You may not create doctor records' });
      return doctors.create(toDoctorRecord(input));
    },

    async read(caller: Caller, id: string): Promise<DoctorAnswer> {
      return doctorView(caller, await doctors.get(id));
    },

    list,

    /** A page and how many doctors the search finds in all (FHIR's `total`), under the same rules. */
    async search(
      caller: Caller,
      search: DoctorSearch,
      page: { limit: number; cursor?: string },
    ): Promise<Page<DoctorAnswer> & { total: number }> {
      const scope = searchTextScope(caller, search.q);
      const [found, total] = await Promise.all([list(caller, search, page), doctors.count({ ...search, ...scope })]);
      return { ...found, total };
    },

    /** Staff replace the whole profile, checked under the row lock. */
    replace(caller: Caller, id: string, input: DoctorInput, expectedVersion?: number): Promise<Doctor> {
      return doctors.update(id, expectedVersion, (current) => {
        authorize(caller, 'doctor', 'update', doctorFacts(current.id));
        return toDoctorRecord(input);
      });
    },

    /**
     * A merge patch, by who is asking: staff change the whole profile (licence, specialization,
     * tariff, email); a doctor only their own phone, working hours and whether they accept
     * bookings (any other member: 403, nothing changed). Validated as a whole either way.
     */
    patch(caller: Caller, id: string, patch: Record<string, unknown>, expectedVersion?: number): Promise<Doctor> {
      return doctors.update(id, expectedVersion, (current) => {
        const action = widestPermitted(caller, 'doctor', ['update', 'update-schedule'], doctorFacts(current.id));
        return action === 'update' ? mergeDoctor(current, patch) : mergeOwnDoctorProfile(current, patch);
      });
    },

    /** Admins only; soft: the doctor is no longer served. */
    async remove(caller: Caller, id: string, expectedVersion?: number): Promise<void> {
      authorize(caller, 'doctor', 'delete', doctorFacts(id));
      await doctors.delete(id, expectedVersion);
    },
  };
}

export type DoctorUseCases = ReturnType<typeof doctorUseCases>;
