import { APPOINTMENT_STATUSES, PAYMENT_METHODS, SERVICE_TYPES, type Fees } from '@caregrid/contracts';
import { ConflictError, InvalidInputError, RuleViolationError } from '@caregrid/platform';
import { localDate, toMinutes, wallClock, type LocalDate, type Span, type Weekday } from './zoned-time.js';

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
  /** 1 at booking, one more per move. */
  version: number;
  createdAt: string;
  updatedAt: string;
};

export type NewAppointment = Omit<Appointment, 'id' | 'status' | 'cancellationReason' | 'payment' | 'version' | 'createdAt' | 'updatedAt'>;

/** What booking needs to know about the doctor (from doctor-service, by invocation). */
export type DoctorSchedule = {
  accepting: boolean;
  slotMinutes: number;
  timeZone: string;
  workingHours: Partial<Record<Weekday, { start: string; end: string }[]>>;
};

/**
 * Booking rules: in the future, the doctor accepting, within one working
 * interval of the doctor's day in their time zone, and one of their slots (or
 * several back to back) as `daySlots` lists them, so that a booking and the
 * free slots offered agree, across DST changes too. Overlaps are the
 * database's to refuse (exclusion constraint).
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
  const day = localDate(wallClock(start, doctor.timeZone).date, doctor.timeZone);
  const interval = (doctor.workingHours[day.weekday] ?? []).find((hours) =>
    day.spansBetween(toMinutes(hours.start), toMinutes(hours.end)).some((span) => span.start <= start && end <= span.end),
  );
  if (!interval) {
    throw new RuleViolationError(`outside the doctor's working hours (${doctor.timeZone})`, {
      rule: 'working-hours',
      weekday: day.weekday,
    });
  }
  const slots = daySlots(doctor, day);
  let i = slots.findIndex((slot) => slot.start.getTime() === start.getTime());
  if (i >= 0) {
    while (slots[i]!.end < end && slots[i + 1]?.start.getTime() === slots[i]!.end.getTime()) i++;
    if (slots[i]!.end.getTime() === end.getTime()) return;
  }
  throw new RuleViolationError(`must start on the doctor's ${doctor.slotMinutes}-minute grid from ${interval.start}`, {
    rule: 'slot-aligned',
  });
}

/** How far ahead an appointment may start, in days (BOOKING_HORIZON_DAYS). */
export function checkWithinHorizon(start: Date, now: Date, horizonDays: number): void {
  const latest = new Date(now.getTime() + horizonDays * 86_400_000);
  if (start > latest) {
    throw new RuleViolationError(`an appointment may start at most ${horizonDays} days ahead`, {
      rule: 'booking-horizon',
      horizonDays,
      latestStart: latest.toISOString(),
    });
  }
}

/**
 * A patient's own booking is one slot of the doctor's grid, so that a patient cannot block a
 * doctor's day with one long booking (staff may book several slots back to back). Checked after
 * checkBookingTime, which puts it on the grid: a slot lasts `slotMinutes` of real time, DST or not.
 */
export function checkOneSlot(start: Date, end: Date, doctor: DoctorSchedule): void {
  if (end.getTime() - start.getTime() !== doctor.slotMinutes * 60_000) {
    throw new RuleViolationError(`a patient books one ${doctor.slotMinutes}-minute slot at a time`, {
      rule: 'one-slot',
      slotMinutes: doctor.slotMinutes,
    });
  }
}

/**
 * A doctor's slots on a date of their zone, in order: every working interval
 * on the slot grid of the wall clock (09:00, 09:30, ...), each slot lasting
 * `slotMinutes` of real time and lying wholly in the working time. The doctor
 * works by the wall clock: a time a spring-forward skips has no slot, and the
 * hour a fall-back repeats is worked twice, so its times give a slot at each
 * of their two instants. Around a change a grid that does not divide the
 * shift can put two slots over the same real minutes; the earlier is kept.
 */
export function daySlots(doctor: DoctorSchedule, day: LocalDate): Span[] {
  const candidates: Span[] = [];
  for (const hours of doctor.workingHours[day.weekday] ?? []) {
    const [from, to] = [toMinutes(hours.start), toMinutes(hours.end)];
    const working = day.spansBetween(from, to);
    for (let m = from; m < to; m += doctor.slotMinutes) {
      for (const start of day.instantsOf(m)) {
        const slot = { start, end: new Date(start.getTime() + doctor.slotMinutes * 60_000) };
        if (working.some((span) => span.start <= slot.start && slot.end <= span.end)) candidates.push(slot);
      }
    }
  }
  const slots: Span[] = [];
  for (const slot of candidates.sort((a, b) => a.start.getTime() - b.start.getTime())) {
    if (slot.start >= (slots[slots.length - 1]?.end ?? slot.start)) slots.push(slot);
  }
  return slots;
}

/** The doctor's tariff, as the clinic set it on their profile. */
export type Tariff = { fees: Fees; currency: string };

/** The service types a doctor offers: those their tariff has a fee for (the others cannot be booked with them). */
export const offeredServiceTypes = (tariff: Pick<Tariff, 'fees'>): ServiceType[] =>
  SERVICE_TYPES.filter((type) => tariff.fees[type] !== undefined);

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
      offered: offeredServiceTypes(tariff),
    });
  }
  return { amount, currency: tariff.currency };
}

/** Free slots of a doctor on a date (their zone): their slots minus busy ranges and the past. */
export function freeSlots(
  doctor: DoctorSchedule,
  date: string,
  busy: { start: Date; end: Date }[],
  now: Date,
): { start: string; end: string }[] {
  return daySlots(doctor, localDate(date, doctor.timeZone))
    .filter(({ start, end }) => start > now && !busy.some((b) => b.start < end && start < b.end))
    .map(({ start, end }) => ({ start: start.toISOString(), end: end.toISOString() }));
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
