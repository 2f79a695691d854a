import type { PublicDoctor } from '@caregrid/contracts';
import type { Caller, Page } from '@caregrid/platform';
import type { DoctorFilter, DoctorRepository } from './data/doctor-repository.js';
import { doctorView, searchTextScope } from './domain/doctor-access.js';
import type { Doctor } from './domain/doctor.js';

/** A doctor as a reader gets them: the whole record, or the public profile (see doctorView). */
export type DoctorAnswer = Doctor | PublicDoctor;
export type DoctorSearch = Omit<DoctorFilter, 'limit' | 'cursor' | 'searchEmail'>;

/**
 * The doctor reads, for the JSON and the FHIR routes alike: each doctor as the caller may see them,
 * and a search text that matches email addresses only for those who may read them.
 */
export function doctorUseCases(doctors: DoctorRepository) {
  async function list(caller: Caller, search: DoctorSearch, page: { limit: number; cursor?: string }): Promise<Page<DoctorAnswer>> {
    const found = await doctors.list({ ...search, ...searchTextScope(caller, search.q), ...page });
    return { items: found.items.map((doctor) => doctorView(caller, doctor)), nextCursor: found.nextCursor };
  }

  return {
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
  };
}

export type DoctorUseCases = ReturnType<typeof doctorUseCases>;
