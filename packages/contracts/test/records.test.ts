import { doctorForBooking, patientForBooking } from '../src/index.js';

const doctor = {
  id: '0190f0a0-0000-7000-8000-000000000001',
  name: 'Dr. Quinn',
  specialization: 'general-practice',
  accepting: true,
  slotMinutes: 30,
  timeZone: 'Europe/Berlin',
  workingHours: { mon: [{ start: '09:00', end: '12:00' }] },
  fees: { consultation: 5_000 },
  currency: 'EUR',
};

const failingPaths = (result: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) =>
  (result.error?.issues ?? []).map((issue) => issue.path.join('.')).sort();

describe('records appointment-service reads by invocation', () => {
  it('reads the doctor fields booking needs and ignores the rest of the record', () => {
    const parsed = doctorForBooking.parse({ ...doctor, email: 'quinn@example.org', licenseNumber: 'L-1' });
    expect(parsed).toEqual(doctor);
    expect(patientForBooking.parse({ id: doctor.id, name: 'Pat', allergies: ['dust'] })).toEqual({ id: doctor.id, name: 'Pat' });
  });

  it('refuses a doctor without a tariff, with a fractional or unknown fee, or a malformed currency', () => {
    const { fees: _fees, ...withoutFees } = doctor;
    expect(failingPaths(doctorForBooking.safeParse(withoutFees))).toEqual(['fees']);
    expect(failingPaths(doctorForBooking.safeParse({ ...doctor, fees: { consultation: 49.99, massage: 1 }, currency: 'euro' }))).toEqual([
      'currency',
      'fees',
      'fees.consultation',
    ]);
    expect(failingPaths(patientForBooking.safeParse({ id: 'p1' }))).toEqual(['id', 'name']);
  });
});
