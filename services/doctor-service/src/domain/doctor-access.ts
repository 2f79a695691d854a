import { publicDoctor, type PublicDoctor } from '@caregrid/contracts';
import { ForbiddenError, may, narrow, type Caller, type RecordFacts } from '@caregrid/platform';
import type { Doctor } from './doctor.js';

/** What the access model decides a doctor's profile on: whose it is. */
export const doctorFacts = (doctorId: string): RecordFacts & { id: string } => ({ id: doctorId, doctorId });

/** A doctor as this caller may see them: the whole record (staff, the doctor themself), or the public profile. */
export function doctorView(caller: Caller, doctor: Doctor): Doctor | PublicDoctor {
  return may(caller, 'doctor', 'read-private', doctorFacts(doctor.id)) ? doctor : publicDoctor.parse(doctor);
}

/**
 * What a search text `q` matches for this caller: names for everyone; email addresses too only for
 * whoever may read every doctor's private fields (staff). Anyone else asking by email (a text with
 * `@`, which no name has) is refused rather than answered by name, so that a search by email never
 * looks like "no such address" to them.
 */
export function searchTextScope(caller: Caller, q: string | undefined): { searchEmail: boolean } {
  const searchEmail = narrow(caller, 'doctor', 'read-private').all;
  if (q?.includes('@') && !searchEmail) {
    throw new ForbiddenError('searching doctors by email address is for staff; search by name');
  }
  return { searchEmail };
}
