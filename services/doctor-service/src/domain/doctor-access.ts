import { widestPermitted, type Caller, type RecordFacts } from '@caregrid/platform';
import { mergeDoctor, mergeOwnDoctorProfile, type Doctor, type DoctorRecord } from './doctor.js';

/** What the access model decides a doctor's profile on: whose it is. */
export const doctorFacts = (doctorId: string): RecordFacts & { id: string } => ({ id: doctorId, doctorId });

/**
 * PATCH, by who is asking: staff change the whole profile (licence,
 * specialization, tariff, email); a doctor only their own phone, working hours
 * and whether they accept bookings.
 */
export function patchDoctor(caller: Caller, current: Doctor, patch: Record<string, unknown>): DoctorRecord {
  const action = widestPermitted(caller, 'doctor', ['update', 'update-schedule'], doctorFacts(current.id));
  return action === 'update' ? mergeDoctor(current, patch) : mergeOwnDoctorProfile(current, patch);
}
