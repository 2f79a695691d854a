import { authorize, may, type Caller, type RecordFacts } from '@caregrid/platform';
import { mergeDoctor, mergeOwnDoctorProfile, type Doctor, type DoctorRecord } from './doctor.js';

/** What the access model decides a doctor's profile on: whose it is. */
export const doctorFacts = (doctorId: string): RecordFacts & { id: string } => ({ id: doctorId, doctorId });

/**
 * PATCH, by who is asking: staff change the whole profile (licence,
 * specialization, tariff, email); a doctor only their own phone, working hours
 * and whether they accept bookings.
 */
export function patchDoctor(caller: Caller, current: Doctor, patch: Record<string, unknown>): DoctorRecord {
  const facts = doctorFacts(current.id);
  if (may(caller, 'doctor', 'update', facts)) return mergeDoctor(current, patch);
  authorize(caller, 'doctor', 'update-schedule', facts);
  return mergeOwnDoctorProfile(current, patch);
}
