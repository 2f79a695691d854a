import { bookingBody, listQuery, slotsQuery } from '../../src/http/schemas.js';

const ids = { patientId: '0190f0a0-0000-7000-8000-000000000001', doctorId: '0190f0a0-0000-7000-8000-000000000002' };
const booking = { ...ids, durationMinutes: 30, serviceType: 'consultation' };
const paths = (result: { error?: { issues: { path: PropertyKey[] }[] } }) => result.error?.issues.map((i) => i.path.join('.'));

describe('date and time fields of appointment requests', () => {
  it('refuses the list query of the bug report (year 900, offset -17:59) instead of handing it to PostgreSQL', () => {
    expect(paths(listQuery.safeParse({ from: '0900-02-04T12:41:04.693491-17:59' }))).toEqual(['from']);
    expect(paths(listQuery.safeParse({ to: '10000-01-01T00:00:00Z' }))).toEqual(['to']);
  });

  it('passes instants on as UTC, whatever offset the client wrote', () => {
    expect(listQuery.parse({ from: '2026-03-02T09:00:00+14:00', to: '2026-03-02T09:00:00-17:59' })).toMatchObject({
      from: '2026-03-01T19:00:00.000Z',
      to: '2026-03-03T02:59:00.000Z',
    });
    expect(bookingBody.parse({ ...booking, start: '2027-01-04T09:00:00.123456+01:00' }).start).toBe('2027-01-04T08:00:00.123Z');
  });

  it('refuses a booking start or end outside the years every store keeps, or on a day that does not exist', () => {
    expect(paths(bookingBody.safeParse({ ...booking, start: '0000-01-04T09:00:00Z' }))).toEqual(['start']);
    expect(paths(bookingBody.safeParse({ ...booking, start: '2027-02-30T09:00:00Z' }))).toEqual(['start']);
    const { durationMinutes: _d, ...withEnd } = booking;
    expect(paths(bookingBody.safeParse({ ...withEnd, start: '2027-01-04T09:00:00Z', end: '3000-01-01T00:00:00Z' }))).toEqual(['end']);
  });

  it('takes a slots date only as a real calendar day in range', () => {
    expect(slotsQuery.parse({ doctorId: ids.doctorId, date: '2028-02-29' }).date).toBe('2028-02-29');
    for (const date of ['2027-02-29', '0900-02-04', '2027-1-4', '2027-01-04T00:00:00Z']) {
      expect([date, paths(slotsQuery.safeParse({ doctorId: ids.doctorId, date }))]).toEqual([date, ['date']]);
    }
  });
});
