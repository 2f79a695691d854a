import { APPOINTMENT_STATUSES, PAYMENT_METHODS, SERVICE_TYPES, type Fees } from '@caregrid/contracts';
import { ConflictError, InvalidInputError, RuleViolationError } from '@caregrid/platform';
import { instantOf, toMinutes, wallClock, type Weekday } from './zoned-time.js';

export type AppointmentStatus = (typeof APPOINTMENT_STATUSES)[number];
export type ServiceType = (typeof SERVICE_TYPES)[number];
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

export type Appointment = {
  id: string;
  patientId: string;
  doctorId: string;
  patientName: string;
  doctorName: string;
  specialization: string;
  start: string;
  end: string;
  serviceType: ServiceType;
  reason: string | null;
  amount: number;
  currency: string;
  status: AppointmentStatus;
  cancellationReason: string | null;
  payment: { method: PaymentMethod; amount: number; paidAt: string } | null;
  createdAt: string;
  updatedAt: string;
};

export type NewAppointment = Omit<Appointment, 'id' | 'status' | 'cancellationReason' | 'payment' | 'createdAt' | 'updatedAt'>;

/** What booking needs to know about the doctor (from doctor-service, by invocation). */
export type DoctorSchedule = {
  accepting: boolean;
  slotMinutes: number;
  timeZone: string;
  workingHours: Partial<Record<Weekday, { start: string; end: string }[]>>;
};

/**
 * Booking rules: in the future, the doctor accepting, and the visit fits one
 * working interval of the doctor's day in the doctor's time zone, aligned to
 * their slot grid. Overlaps are the database's to refuse (exclusion constraint).
 */
export function checkBookingTime(start: Date, end: Date, doctor: DoctorSchedule, now: Date): void {
  if (end <= start) throw new InvalidInputError('end must be after start', [{ path: 'end', message: 'must be after start' }]);
  if (start <= now) throw new RuleViolationError('the appointment must start in the future', { rule: 'start-in-future' });
  if (!doctor.accepting) throw new RuleViolationError('the doctor is not accepting appointments', { rule: 'doctor-accepting' });
  const duration = (end.getTime() - start.getTime()) / 60_000;
  if (duration % doctor.slotMinutes !== 0) {
    throw new RuleViolationError(`the length must be a multiple of the doctor's ${doctor.slotMinutes}-minute slot`, {
      rule: 'slot-aligned',
    });
  }
  const from = wallClock(start, doctor.timeZone);
  const to = wallClock(end, doctor.timeZone);
  const endMinutes = to.date === from.date ? to.minutes : to.minutes + 24 * 60;
  const interval = (doctor.workingHours[from.weekday] ?? []).find(
    (hours) => toMinutes(hours.start) <= from.minutes && endMinutes <= toMinutes(hours.end),
  );
  if (!interval) {
    throw new RuleViolationError(`outside the doctor's working hours (${doctor.timeZone})`, {
      rule: 'working-hours',
      weekday: from.weekday,
    });
  }
  if ((from.minutes - toMinutes(interval.start)) % doctor.slotMinutes !== 0) {
    throw new RuleViolationError(`must start on the doctor's ${doctor.slotMinutes}-minute grid from ${interval.start}`, {
      rule: 'slot-aligned',
    });
  }
}

/** The doctor's tariff, as the clinic set it on their profile. */
export type Tariff = { fees: Fees; currency: string };

/**
 * The price of a visit is the clinic's, never the client's: the doctor's fee
 * for the service type, in the doctor's currency. A type without a fee is not
 * offered by this doctor.
 */
export function priceFromTariff(tariff: Tariff, serviceType: ServiceType): { amount: number; currency: string } {
  const amount = tariff.fees[serviceType];
  if (amount === undefined) {
    throw new RuleViolationError(`the doctor does not offer ${serviceType}`, {
      rule: 'service-not-offered',
      serviceType,
      offered: SERVICE_TYPES.filter((type) => tariff.fees[type] !== undefined),
    });
  }
  return { amount, currency: tariff.currency };
}

/** Free slots of a doctor on a date (their zone): working hours on the slot grid, minus busy ranges and the past. */
export function freeSlots(
  doctor: DoctorSchedule,
  date: string,
  busy: { start: Date; end: Date }[],
  now: Date,
): { start: string; end: string }[] {
  const weekday = wallClock(instantOf(date, 12 * 60, doctor.timeZone), doctor.timeZone).weekday;
  const slots: { start: string; end: string }[] = [];
  for (const hours of doctor.workingHours[weekday] ?? []) {
    for (let m = toMinutes(hours.start); m + doctor.slotMinutes <= toMinutes(hours.end); m += doctor.slotMinutes) {
      const start = instantOf(date, m, doctor.timeZone);
      const end = instantOf(date, m + doctor.slotMinutes, doctor.timeZone);
      if (start <= now || busy.some((b) => b.start < end && start < b.end)) continue;
      slots.push({ start: start.toISOString(), end: end.toISOString() });
    }
  }
  return slots;
}

/** FHIR Appointment-aligned lifecycle. */
const TRANSITIONS: Record<AppointmentStatus, AppointmentStatus[]> = {
  booked: ['checked-in', 'cancelled', 'noshow'],
  'checked-in': ['fulfilled'],
  fulfilled: [],
  cancelled: [],
  noshow: [],
};

export function checkTransition(current: AppointmentStatus, next: AppointmentStatus, reason: string | undefined): void {
  if (!TRANSITIONS[current].includes(next)) {
    throw new RuleViolationError(`an appointment that is ${current} cannot become ${next}`, {
      from: current,
      to: next,
      allowed: TRANSITIONS[current],
    });
  }
  if (next === 'cancelled' && !reason?.trim())
    throw new RuleViolationError('a cancellation needs a reason', { rule: 'cancellation-reason' });
}

export function checkPayment(appointment: Appointment, amount: number): void {
  if (appointment.payment) throw new ConflictError('this appointment is already paid', { paidAt: appointment.payment.paidAt });
  if (appointment.status === 'cancelled' || appointment.status === 'noshow') {
    throw new RuleViolationError(`an appointment that is ${appointment.status} cannot be paid`, { status: appointment.status });
  }
  if (amount !== appointment.amount) {
    throw new RuleViolationError(`the amount must be ${appointment.amount} ${appointment.currency}`, {
      expected: appointment.amount,
      currency: appointment.currency,
    });
  }
}
