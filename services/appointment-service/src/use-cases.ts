import {
  authorize,
  authorizeNew,
  ConflictError,
  InvalidInputError,
  may,
  narrow,
  noteAccess,
  seesNothing,
  uuidv7,
  type Caller,
  type Page,
} from '@caregrid/platform';
import type { AppointmentFilter, AppointmentRepository } from './data/appointment-repository.js';
import {
  checkPayment,
  checkTransition,
  freeSlots,
  offeredServiceTypes,
  type Appointment,
  type AppointmentStatus,
  type PaymentMethod,
  type ServiceType,
} from './domain/appointment.js';
import { bookAppointment, type BookingPorts, type BookingRequest } from './domain/book-appointment.js';
import { planMove, type RescheduleRequest } from './domain/reschedule-appointment.js';
import { localDate } from './domain/zoned-time.js';
import type { Peers } from './peers.js';

export type StatusChange = { status: AppointmentStatus; reason?: string };

/** A booking of one slot of a doctor's grid: the slot (its doctor and start), the rest as for any booking; an end the client stated must be the slot's. */
export type SlotBookingRequest = {
  slot: { id: string; doctorId: string; start: string };
  booking: Omit<BookingRequest, 'doctorId' | 'start' | 'end' | 'durationMinutes'>;
  statedEnd?: string;
};

/** RETENTION_DAYS, CLEANUP_BATCH_SIZE and the least time between two runs. */
export type CleanupSettings = { retentionDays: number; batchSize: number; minIntervalMs: number };

/** BOOKING_HORIZON_DAYS and MAX_OPEN_BOOKINGS_PER_PATIENT. */
export type BookingLimits = { horizonDays: number; maxOpenPerPatient: number };

/**
 * What the use cases need of the appointment store (AppointmentRepository; an in-memory double in
 * unit tests). Overlaps and the open-bookings cap are the store's to refuse (in one transaction).
 */
export type AppointmentStore = Pick<
  AppointmentRepository,
  'create' | 'get' | 'list' | 'count' | 'change' | 'reschedule' | 'busy' | 'archiveEnded'
>;

/**
 * The appointment use cases, one each, for every way in: the JSON routes and
 * the FHIR routes call these, so both answer under the same rules and the
 * same access checks.
 */
export function appointmentUseCases(deps: {
  appointments: AppointmentStore;
  peers: Peers;
  limits: BookingLimits;
  cleanup: CleanupSettings;
  now?: () => Date;
}) {
  const { appointments, peers, limits } = deps;
  const now = deps.now ?? (() => new Date());
  // A 409 names the appointment in the way only to a caller who may read it (their own, or staff).
  const revealsTo = (caller: Caller) => (other: { patientId: string; doctorId: string }) => may(caller, 'appointment', 'read', other);
  const bookingFor = (caller: Caller): BookingPorts => ({
    fetchPatient: peers.patient,
    fetchDoctor: peers.doctor,
    create: (appointment) => {
      // Noted before the write: the booking's audit entry is written in the same transaction.
      const id = uuidv7();
      noteAccess({ resourceId: id });
      return appointments.create(appointment, id, { maxOpenPerPatient: limits.maxOpenPerPatient, reveals: revealsTo(caller) });
    },
    now,
  });

  const mayBook = (caller: Caller, patientId: string) =>
    authorizeNew(caller, 'appointment', { patientId }, { refusal: 'You may only book for your own patient record' });

  /**
   * Patient and doctor verified with their services, priced from the tariff; a patient books
   * only for themselves, one slot at a time. Staff (who may book for anyone) may book several
   * slots back to back. Everyone within the horizon and the patient's cap of open bookings.
   */
  const book = async (caller: Caller, request: BookingRequest): Promise<Appointment> => {
    mayBook(caller, request.patientId);
    const staff = narrow(caller, 'appointment', 'book').all;
    return bookAppointment(request, bookingFor(caller), { horizonDays: limits.horizonDays, oneSlotOnly: !staff });
  };

  /** A doctor's free slots starting in [from, to): every date of their zone the span touches. */
  const freeSlotsBetween = async (doctorId: string, from: Date, to: Date) => {
    const doctor = await peers.doctor(doctorId);
    // Whatever the zone, its dates that touch the span lie within a day either side of the UTC ones.
    const busy = await appointments.busy(doctor.id, new Date(from.getTime() - 86_400_000), new Date(to.getTime() + 86_400_000));
    const slots: { start: string; end: string }[] = [];
    for (let day = from.getTime() - 86_400_000; day < to.getTime() + 86_400_000; day += 86_400_000) {
      for (const slot of freeSlots(doctor, new Date(day).toISOString().slice(0, 10), busy, now())) {
        const start = Date.parse(slot.start);
        if (start >= from.getTime() && start < to.getTime() && !slots.some((s) => s.start === slot.start)) slots.push(slot);
      }
    }
    return { doctor, slots: slots.sort((a, b) => a.start.localeCompare(b.start)) };
  };

  return {
    book,

    /**
     * One free slot booked as it is (its start and end): a slot that is not free (taken, or
     * never on the doctor's hours) is a conflict naming no appointment. Then the booking is
     * `book`'s, under its rules; one taken meanwhile is its 409 (the database refuses overlaps).
     */
    async bookSlot(caller: Caller, request: SlotBookingRequest): Promise<Appointment> {
      // Refused before the slot is looked at, as `book` refuses before asking for the doctor.
      mayBook(caller, request.booking.patientId);
      const start = new Date(request.slot.start);
      const { slots } = await freeSlotsBetween(request.slot.doctorId, start, new Date(start.getTime() + 60_000));
      const slot = slots.find((free) => free.start === request.slot.start);
      if (!slot) throw new ConflictError(`Slot ${request.slot.id} is not free`, { slot: request.slot.id });
      if (request.statedEnd !== undefined && Date.parse(request.statedEnd) !== Date.parse(slot.end)) {
        throw new InvalidInputError(`the end does not agree with Slot ${request.slot.id}, which ends at ${slot.end}`, [
          { path: 'end', message: `must be the slot's end, ${slot.end}` },
        ]);
      }
      return book(caller, { ...request.booking, doctorId: request.slot.doctorId, start: slot.start, end: slot.end });
    },

    /** A doctor's one schedule, with what can be booked (now to the booking horizon); undefined for no such doctor. */
    async schedule(doctorId: string) {
      const doctor = await peers.findDoctor(doctorId);
      if (!doctor) return undefined;
      const from = now();
      return {
        doctor,
        planningHorizon: { start: from.toISOString(), end: new Date(from.getTime() + limits.horizonDays * 86_400_000).toISOString() },
      };
    },

    async read(caller: Caller, id: string): Promise<Appointment> {
      const appointment = await appointments.get(id);
      authorize(caller, 'appointment', 'read', appointment);
      return appointment;
    },

    /** A page within what the caller may see, and (when asked) how many there are in all under the same filters. */
    async list(
      caller: Caller,
      filter: AppointmentFilter,
      options: { total?: boolean } = {},
    ): Promise<Page<Appointment> & { total?: number }> {
      const scope = narrow(caller, 'appointment');
      if (seesNothing(scope)) return { items: [], nextCursor: null, ...(options.total ? { total: 0 } : {}) };
      const [page, total] = await Promise.all([
        appointments.list(filter, scope),
        options.total ? appointments.count(filter, scope) : undefined,
      ]);
      noteAccess({ patientIds: page.items.map((appointment) => appointment.patientId) });
      return total === undefined ? page : { ...page, total };
    },

    /** Along the lifecycle, under the row lock: cancel (patient, doctor, staff) or progress (doctor, staff). */
    changeStatus(caller: Caller, id: string, change: StatusChange): Promise<Appointment> {
      return appointments.change(id, (current) => {
        authorize(caller, 'appointment', change.status === 'cancelled' ? 'cancel' : 'progress', current);
        checkTransition(current.status, change.status, change.reason);
        return { status: change.status, cancellationReason: change.status === 'cancelled' ? change.reason : undefined };
      });
    },

    /** Staff record the payment, once and of exactly the booked amount, under the row lock (its event is appointment.paid). */
    pay(caller: Caller, id: string, payment: { method: PaymentMethod; amount: number }): Promise<Appointment> {
      return appointments.change(id, (current) => {
        authorize(caller, 'appointment', 'pay', current);
        checkPayment(current, payment.amount);
        return { payment: { method: payment.method, amount: payment.amount } };
      });
    },

    /** The cron binding's run: appointments ended more than the retention ago go to the archive, in batches. */
    archiveEnded() {
      const { retentionDays, batchSize, minIntervalMs } = deps.cleanup;
      return appointments.archiveEnded(new Date(now().getTime() - retentionDays * 86_400_000), { batchSize, minIntervalMs });
    },

    /**
     * To another start, same doctor, service type, length and price, under the booking rules
     * (the doctor's hours asked of doctor-service, as for a booking), under the row lock: only a
     * booked appointment, only from `expectedVersion` when given. Who may cancel it may move it.
     * The same start again changes nothing.
     */
    async reschedule(caller: Caller, id: string, request: RescheduleRequest): Promise<Appointment> {
      // Checked before asking doctor-service: an appointment the caller may not see stays unseen (404).
      const found = await appointments.get(id);
      authorize(caller, 'appointment', 'reschedule', found);
      const doctor = await peers.doctor(found.doctorId);
      return appointments.reschedule(
        id,
        (current) => {
          authorize(caller, 'appointment', 'reschedule', current);
          return planMove(current, request, doctor, now(), limits.horizonDays);
        },
        revealsTo(caller),
      );
    },

    /** A doctor's free slots on one date of their zone. */
    async freeSlotsOn(doctorId: string, date: string) {
      const doctor = await peers.doctor(doctorId);
      const day = localDate(date, doctor.timeZone);
      const busy = await appointments.busy(doctor.id, day.start, day.end);
      return { doctor, slots: freeSlots(doctor, date, busy, now()) };
    },

    /**
     * A doctor's free slots in a span with the service types they can be booked for (the doctor's
     * tariff); asked for one service type, none unless the doctor offers it.
     */
    async bookableSlotsBetween(doctorId: string, from: Date, to: Date, serviceType?: ServiceType) {
      const { doctor, slots } = await freeSlotsBetween(doctorId, from, to);
      const serviceTypes = offeredServiceTypes(doctor);
      return { doctor, serviceTypes, slots: serviceType === undefined || serviceTypes.includes(serviceType) ? slots : [] };
    },
  };
}

export type AppointmentUseCases = ReturnType<typeof appointmentUseCases>;
