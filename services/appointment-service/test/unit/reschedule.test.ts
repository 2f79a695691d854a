import { ConflictError, RuleViolationError } from '@caregrid/platform';
import type { Appointment, DoctorSchedule } from '../../src/domain/appointment.js';
import { planMove } from '../../src/domain/reschedule-appointment.js';

// Berlin (UTC+1 in winter), 30-minute slots, Mondays 09:00–12:00: 09:00 local on Monday 2027-01-04 is 08:00Z.
const doctor: DoctorSchedule = {
  accepting: true,
  slotMinutes: 30,
  timeZone: 'Europe/Berlin',
  workingHours: { mon: [{ start: '09:00', end: '12:00' }] },
};
const now = new Date('2027-01-01T00:00:00Z');
const HORIZON = 180;
// An hour-long appointment, 09:00–10:00 local, moved once already.
const booked = {
  id: '0190a000-0000-7000-8000-000000000001',
  status: 'booked',
  start: '2027-01-04T08:00:00.000Z',
  end: '2027-01-04T09:00:00.000Z',
  version: 2,
} as Appointment;

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('not refused');
};

describe('moving an appointment (planMove)', () => {
  it('keeps the length: an hour from the new start, on the grid within the hours', () => {
    expect(planMove(booked, { start: '2027-01-04T09:30:00Z' }, doctor, now, HORIZON)).toEqual({
      start: '2027-01-04T09:30:00.000Z',
      end: '2027-01-04T10:30:00.000Z',
    });
    // Half an hour later overlaps its own old slot: that is the row itself, not a conflict.
    expect(planMove(booked, { start: '2027-01-04T08:30:00.000Z', expectedVersion: 2 }, doctor, now, HORIZON)).toEqual({
      start: '2027-01-04T08:30:00.000Z',
      end: '2027-01-04T09:30:00.000Z',
    });
  });

  it('the same start again is no move (null): nothing to write', () => {
    expect(planMove(booked, { start: '2027-01-04T09:00:00+01:00' }, doctor, now, HORIZON)).toBeNull();
  });

  it('under the booking rules: not in the past, within the hours (the whole length), on the grid, the doctor accepting', () => {
    const rule = (start: string, schedule = doctor) =>
      (refusal(() => planMove(booked, { start }, schedule, now, HORIZON)) as RuleViolationError).details.rule;
    expect(rule('2026-12-28T08:00:00Z')).toBe('start-in-future');
    expect(rule('2027-01-04T10:30:00Z')).toBe('working-hours'); // 11:30–12:30 runs past 12:00
    expect(rule('2027-01-05T08:00:00Z')).toBe('working-hours'); // Tuesday
    expect(rule('2027-01-04T08:15:00Z')).toBe('slot-aligned');
    expect(rule('2027-01-04T09:00:00Z', { ...doctor, accepting: false })).toBe('doctor-accepting');
  });

  it('not beyond the booking horizon: 180 days from now at most', () => {
    // 2027-06-28 is 178 days after now, a Monday (Berlin summer: 09:00 local is 07:00Z); 2027-07-05 is 185 days.
    expect(planMove(booked, { start: '2027-06-28T07:00:00Z' }, doctor, now, HORIZON)).not.toBeNull();
    const error = refusal(() => planMove(booked, { start: '2027-07-05T07:00:00Z' }, doctor, now, HORIZON)) as RuleViolationError;
    expect(error.details).toEqual({ rule: 'booking-horizon', horizonDays: 180, latestStart: '2027-06-30T00:00:00.000Z' });
  });

  it('only a booked appointment moves (422, whatever the time asked for)', () => {
    for (const status of ['checked-in', 'fulfilled', 'cancelled', 'noshow'] as const) {
      const error = refusal(() => planMove({ ...booked, status }, { start: '2027-01-04T09:30:00Z' }, doctor, now, HORIZON));
      expect(error).toBeInstanceOf(RuleViolationError);
      expect((error as RuleViolationError).details).toEqual({ rule: 'move-booked-only', from: status });
    }
  });

  it('a stale expectedVersion is a conflict (409) naming both versions, even for a move to the same start', () => {
    for (const start of ['2027-01-04T09:30:00Z', booked.start]) {
      const error = refusal(() => planMove(booked, { start, expectedVersion: 1 }, doctor, now, HORIZON));
      expect(error).toBeInstanceOf(ConflictError);
      expect((error as ConflictError).details).toEqual({ expectedVersion: 1, currentVersion: 2 });
    }
  });
});
