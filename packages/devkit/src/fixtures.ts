import { randomBytes } from 'node:crypto';

let counter = 0;

/**
 * A valid doctor profile as an admin creates it (POST /api/doctors): unique
 * email and licence, Monday mornings on a 30-minute grid, a tariff. Tests
 * override what they are about.
 */
export function doctorProfile(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const n = `${++counter}-${Date.now()}-${randomBytes(2).toString('hex')}`;
  return {
    name: `Dr ${n}`,
    email: `dr.${n}@example.org`,
    specialization: 'cardiology',
    licenseNumber: `L-${n}`,
    yearsOfExperience: 5,
    hospitalName: 'General',
    department: 'Cardio',
    workingHours: { mon: [{ start: '09:00', end: '12:00' }] },
    slotMinutes: 30,
    timeZone: 'UTC',
    fees: { consultation: 5_000, 'follow-up': 2_500 },
    currency: 'EUR',
    ...overrides,
  };
}
