import { ACCESS_MATRIX, narrow, type Caller, type Matrix } from '@caregrid/platform';
import { recordScope } from '@caregrid/platform/postgres';
import { APPOINTMENT_SCOPE_COLUMNS, whereOf } from '../../src/data/appointment-repository.js';

const doctorId = '00000000-0000-4000-8000-0000000000d1';
const doctor: Caller = { kind: 'user', userId: 'u-d1', roles: ['doctor'], doctorId };

/** The model with doctors listing the appointments of their care team (a cell one edit away). */
const careMatrix: Matrix = structuredClone(ACCESS_MATRIX);
careMatrix.appointment.list.doctor = 'care';

describe('the scope of an appointment search', () => {
  it('a `care` grant on appointments searches the care team: the clause names it with the doctor id', () => {
    const scope = narrow(doctor, 'appointment', 'list', careMatrix);
    expect(scope.anyOf).toEqual([{ careTeamOf: doctorId }]);
    const where = whereOf({}, scope, 3);
    expect(where.sql).toContain(
      "patient_id IN (SELECT patient_id FROM appointments WHERE doctor_id = ANY($4::uuid[]) AND status <> 'cancelled'",
    );
    expect(where.params[0]).toEqual([doctorId]);
    expect(() => recordScope('appointment', APPOINTMENT_SCOPE_COLUMNS, careMatrix)).not.toThrow();
  });

  it('own: the doctor column; the filters numbered after the scope', () => {
    const where = whereOf({ status: 'booked' }, narrow(doctor, 'appointment'), 3);
    expect(where.sql).toMatch(/^\(doctor_id = ANY\(\$4::uuid\[\]\)\)/);
    expect(where.sql).toContain('($7::text IS NULL OR status = $7)');
    expect(where.params).toEqual([[doctorId], null, null, 'booked', null, null, null]);
  });
});
