import { ConflictError, RuleViolationError } from '@caregrid/platform';
import { checkBookingTime, checkWithinHorizon, type Appointment, type DoctorSchedule } from './appointment.js';

/** What a client asks for when moving an appointment: a new start, and the version it last saw. */
export type RescheduleRequest = { start: string; expectedVersion?: number };

/**
 * Where a move takes an appointment: the same length from the new start, under
 * the booking rules (in the future but within `horizonDays`, the doctor
 * accepting, within their hours on their slot grid; overlaps are the database's to refuse, the appointment's own
 * old slot not counting). Only a booked appointment moves, and only from the
 * version the client saw when it names one. The same start again is no move:
 * null, nothing to write (the answer is the appointment as it is). Doctor,
 * service type and price stay as booked.
 */
export function planMove(
  current: Appointment,
  request: RescheduleRequest,
  doctor: DoctorSchedule,
  now: Date,
  horizonDays: number,
): { start: string; end: string } | null {
  if (current.status !== 'booked') {
    throw new RuleViolationError(`an appointment that is ${current.status} cannot be moved (only a booked one can)`, {
      rule: 'move-booked-only',
      // `from`, as a refused transition names it: `status` is the problem's own member (the HTTP status).
      from: current.status,
    });
  }
  if (request.expectedVersion !== undefined && request.expectedVersion !== current.version) {
    throw new ConflictError(`the appointment is at version ${current.version}, not ${request.expectedVersion}: it was moved meanwhile`, {
      expectedVersion: request.expectedVersion,
      currentVersion: current.version,
    });
  }
  const start = new Date(request.start);
  if (start.getTime() === Date.parse(current.start)) return null;
  const end = new Date(start.getTime() + (Date.parse(current.end) - Date.parse(current.start)));
  checkWithinHorizon(start, now, horizonDays);
  checkBookingTime(start, end, doctor, now);
  return { start: start.toISOString(), end: end.toISOString() };
}
