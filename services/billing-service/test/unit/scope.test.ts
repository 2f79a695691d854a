import { ACCESS_MATRIX, narrow, type Caller, type Matrix } from '@caregrid/platform';
import { recordScope } from '@caregrid/platform/postgres';
import { INVOICE_SCOPE_COLUMNS, whereOf } from '../../src/data/invoice-repository.js';

const doctorId = '00000000-0000-4000-8000-0000000000d1';
const doctor: Caller = { kind: 'user', userId: 'u-d1', roles: ['doctor'], doctorId };

/** The model with doctors listing the invoices of their care team (a cell one edit away). */
const careMatrix: Matrix = structuredClone(ACCESS_MATRIX);
careMatrix.invoice.list.doctor = 'care';

describe('the scope of an invoice search', () => {
  it('a `care` grant on invoices fails loudly: billing has no care-team column (the list would come back empty)', () => {
    expect(() => recordScope('invoice', INVOICE_SCOPE_COLUMNS, careMatrix)).toThrow(/invoice records by careTeamOf/);
    expect(() => whereOf({}, narrow(doctor, 'invoice', 'list', careMatrix), 3)).toThrow(/careTeamOf/);
  });

  it('own: the doctor column; the filters numbered after the scope', () => {
    const where = whereOf({ status: 'issued' }, narrow(doctor, 'invoice'), 3);
    expect(where.sql).toMatch(/^\(doctor_id = ANY\(\$4::uuid\[\]\)\)/);
    expect(where.params).toEqual([[doctorId], null, null, 'issued']);
  });
});
