import type { DoctorForBooking, PatientForBooking } from '@caregrid/contracts';
import { userCaller } from '@caregrid/devkit';
import { ConflictError, ForbiddenError, NotFoundError, RuleViolationError, uuidv7 } from '@caregrid/platform';
import type { Appointment } from '../../src/domain/appointment.js';
import type { Peers } from '../../src/peers.js';
import { appointmentUseCases, type AppointmentStore } from '../../src/use-cases.js';

/** The statuses that hold their slot (the overlap constraints' and `busy`'s). */
const LIVE = ['booked', 'checked-in', 'fulfilled'];

/**
 * The appointment use cases through their ports, without servers. The in-memory store refuses
 * what the database refuses for the use cases (an overlap of the doctor's or the patient's time,
 * a 409 that names the other appointment only when `reveals` says so; the open-bookings cap) and
 * applies a change only when its check returns, as the repository's row-locked transaction does.
 */
function memoryStore(now: () => Date) {
  const rows = new Map<string, Appointment>();
  const live = (id: string) => {
    const found = rows.get(id);
    if (!found) throw new NotFoundError('appointment', id);
    return found;
  };
  const unused = (name: string) => () => Promise.reject(new Error(`the tests here do not use the store's ${name}`));
  const store: AppointmentStore = {
    create: async (booking, id = uuidv7(), options = {}) => {
      const { maxOpenPerPatient, reveals = () => false } = options;
      const open = [...rows.values()].filter(
        (a) => a.patientId === booking.patientId && a.status === 'booked' && new Date(a.start) > now(),
      );
      if (maxOpenPerPatient !== undefined && open.length >= maxOpenPerPatient) {
        throw new RuleViolationError(`a patient may have at most ${maxOpenPerPatient} open future bookings`, {
          rule: 'open-bookings-cap',
          maxOpenBookings: maxOpenPerPatient,
        });
      }
      for (const who of ['doctor', 'patient'] as const) {
        const key = who === 'doctor' ? 'doctorId' : 'patientId';
        const other = [...rows.values()].find(
          (a) => a[key] === booking[key] && LIVE.includes(a.status) && a.start < booking.end && booking.start < a.end,
        );
        if (other) {
          throw new ConflictError(`the ${who} already has an appointment at that time`, {
            conflictWith: who,
            conflictingSlot: { ...(reveals(other) ? { appointmentId: other.id } : {}), start: other.start, end: other.end },
          });
        }
      }
      const at = now().toISOString();
      const row: Appointment = {
        ...booking,
        id,
        status: 'booked',
        cancellationReason: null,
        payment: null,
        version: 1,
        createdAt: at,
        updatedAt: at,
      };
      rows.set(id, row);
      return row;
    },
    get: async (id) => live(id),
    change: async (id, change) => {
      const current = live(id);
      const next = change(current);
      const at = now().toISOString();
      const after: Appointment = {
        ...current,
        status: next.status ?? current.status,
        cancellationReason: next.cancellationReason ?? current.cancellationReason,
        payment: next.payment ? { ...next.payment, paidAt: at } : current.payment,
        updatedAt: at,
      };
      rows.set(id, after);
      return after;
    },
    busy: async (doctorId, from, to) =>
      [...rows.values()]
        .filter((a) => a.doctorId === doctorId && LIVE.includes(a.status) && new Date(a.start) < to && from < new Date(a.end))
        .map((a) => ({ start: new Date(a.start), end: new Date(a.end) })),
    list: unused('list'),
    count: unused('count'),
    reschedule: unused('reschedule'),
    archiveEnded: unused('archiveEnded'),
  };
  return { store, rows };
}

/** The records' owners in memory: an unknown id is refused as the sidecar-backed peers refuse it. */
function memoryPeers(doctors: DoctorForBooking[], patients: PatientForBooking[]): Peers {
  const doctor = async (id: string) => {
    const found = doctors.find((d) => d.id === id);
    if (!found) throw new RuleViolationError('doctorId does not name an existing record', { field: 'doctorId' });
    return found;
  };
  return {
    doctor,
    patient: async (id) => {
      const found = patients.find((p) => p.id === id);
      if (!found) throw new RuleViolationError('patientId does not name an existing record', { field: 'patientId' });
      return found;
    },
    findDoctor: async (id) => doctors.find((d) => d.id === id),
  };
}

const NOW = new Date('2031-01-01T12:00:00Z'); // a Wednesday
const ADA = '0190f0a0-0000-7000-8000-0000000000a1';
const BO = '0190f0a0-0000-7000-8000-0000000000b1';
const DR_WHO = '0190f0a0-0000-7000-8000-0000000000d1';
const DR_NO = '0190f0a0-0000-7000-8000-0000000000d2';
// UTC, 30-minute slots, Monday mornings: 2031-01-06 is the next Monday.
const doctor = (id: string, name: string): DoctorForBooking => ({
  id,
  name,
  specialization: 'cardiology',
  accepting: true,
  slotMinutes: 30,
  timeZone: 'UTC',
  workingHours: { mon: [{ start: '09:00', end: '12:00' }] },
  fees: { consultation: 5_000, 'follow-up': 2_500 },
  currency: 'EUR',
});

const admin = userCaller(['admin']);
const reception = userCaller(['receptionist']);
const asAda = userCaller(['patient'], { patientId: ADA });
const asBo = userCaller(['patient'], { patientId: BO });
const asDrWho = userCaller(['doctor'], { doctorId: DR_WHO });

function setUp(limits = { horizonDays: 30, maxOpenPerPatient: 5 }) {
  const now = () => NOW;
  const { store, rows } = memoryStore(now);
  const peers = memoryPeers(
    [doctor(DR_WHO, 'Dr Who'), doctor(DR_NO, 'Dr No')],
    [
      { id: ADA, name: 'Ada Lovelace' },
      { id: BO, name: 'Bo Peep' },
    ],
  );
  const appointments = appointmentUseCases({
    appointments: store,
    peers,
    limits,
    cleanup: { retentionDays: 365, batchSize: 100, minIntervalMs: 3_600_000 },
    now,
  });
  return { appointments, rows };
}

/** One 30-minute slot at `time` (UTC) on Monday `date`, as a patient's booking of a consultation. */
const slot = (patientId: string, time: string, doctorId = DR_WHO, date = '2031-01-06') => ({
  patientId,
  doctorId,
  start: `${date}T${time}:00.000Z`,
  durationMinutes: 30,
  serviceType: 'consultation' as const,
});

/** What a refusal carries: its class and the rule or conflict it names (its details). */
async function refusal(attempt: Promise<unknown>) {
  const error = await attempt.then(
    () => {
      throw new Error('expected a refusal, the use case succeeded');
    },
    (e: unknown) => e as Error & { details?: Record<string, unknown> },
  );
  return { type: error.constructor.name, ...error.details };
}

describe('booking', () => {
  it("a patient books a free slot of their own, priced from the doctor's tariff and named by the peers", async () => {
    const { appointments, rows } = setUp();
    const booked = await appointments.book(asAda, { ...slot(ADA, '09:00'), reason: 'chest pain' });
    expect(booked).toMatchObject({
      patientId: ADA,
      patientName: 'Ada Lovelace',
      doctorId: DR_WHO,
      doctorName: 'Dr Who',
      start: '2031-01-06T09:00:00.000Z',
      end: '2031-01-06T09:30:00.000Z',
      amount: 5_000,
      currency: 'EUR',
      status: 'booked',
      reason: 'chest pain',
      payment: null,
    });
    expect([...rows.values()]).toEqual([booked]);
  });

  it('a patient may not book for another patient (403), and nothing is stored', async () => {
    const { appointments, rows } = setUp();
    await expect(appointments.book(asBo, slot(ADA, '09:00'))).rejects.toBeInstanceOf(ForbiddenError);
    await expect(
      appointments.bookSlot(asBo, {
        slot: { id: 's', doctorId: DR_WHO, start: '2031-01-06T09:00:00Z' },
        booking: { patientId: ADA, serviceType: 'consultation' },
      }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    expect(rows.size).toBe(0);
  });

  it('a slot taken is a conflict (409) naming the other appointment only to who may read it', async () => {
    const { appointments, rows } = setUp();
    const ada = await appointments.book(asAda, slot(ADA, '09:00'));
    expect(await refusal(appointments.book(asBo, slot(BO, '09:00')))).toEqual({
      type: 'ConflictError',
      conflictWith: 'doctor',
      conflictingSlot: { start: ada.start, end: ada.end },
    });
    expect(await refusal(appointments.book(reception, slot(BO, '09:00')))).toMatchObject({
      conflictWith: 'doctor',
      conflictingSlot: { appointmentId: ada.id },
    });
    // The patient's own time counts too: Ada cannot be with two doctors at once.
    expect(await refusal(appointments.book(asAda, slot(ADA, '09:00', DR_NO)))).toMatchObject({
      type: 'ConflictError',
      conflictWith: 'patient',
    });
    expect(rows.size).toBe(1);
  });

  it('a slot booked through its grid: a taken one is not free (409), a free one is booked as it is', async () => {
    const { appointments } = setUp();
    await appointments.book(asAda, slot(ADA, '09:00'));
    const taken = { id: 'slot-1', doctorId: DR_WHO, start: '2031-01-06T09:00:00.000Z' };
    expect(await refusal(appointments.bookSlot(asBo, { slot: taken, booking: { patientId: BO, serviceType: 'consultation' } }))).toEqual({
      type: 'ConflictError',
      slot: 'slot-1',
    });
    const free = { id: 'slot-2', doctorId: DR_WHO, start: '2031-01-06T09:30:00.000Z' };
    await expect(
      appointments.bookSlot(asBo, { slot: free, booking: { patientId: BO, serviceType: 'consultation' } }),
    ).resolves.toMatchObject({
      patientId: BO,
      end: '2031-01-06T10:00:00.000Z',
    });
  });

  it('a start beyond the booking horizon is refused (422 booking-horizon), and nothing is stored', async () => {
    const { appointments, rows } = setUp({ horizonDays: 30, maxOpenPerPatient: 5 });
    // 2031-02-03 is 33 days ahead; 2031-01-27 is within 30.
    expect(await refusal(appointments.book(asAda, slot(ADA, '09:00', DR_WHO, '2031-02-03')))).toMatchObject({
      type: 'RuleViolationError',
      rule: 'booking-horizon',
    });
    expect(rows.size).toBe(0);
    await expect(appointments.book(asAda, slot(ADA, '09:00', DR_WHO, '2031-01-27'))).resolves.toMatchObject({ status: 'booked' });
  });

  it('a booking over the cap of open bookings is refused (422 open-bookings-cap); a cancellation makes room', async () => {
    const { appointments, rows } = setUp({ horizonDays: 30, maxOpenPerPatient: 2 });
    const first = await appointments.book(asAda, slot(ADA, '09:00'));
    await appointments.book(asAda, slot(ADA, '10:00'));
    expect(await refusal(appointments.book(asAda, slot(ADA, '11:00')))).toMatchObject({
      type: 'RuleViolationError',
      rule: 'open-bookings-cap',
    });
    expect(rows.size).toBe(2);
    await appointments.changeStatus(asAda, first.id, { status: 'cancelled', reason: 'better now' });
    await expect(appointments.book(asAda, slot(ADA, '11:00'))).resolves.toMatchObject({ status: 'booked' });
  });

  it('a patient books one slot at a time; staff may book several back to back', async () => {
    const { appointments } = setUp();
    const hour = { ...slot(ADA, '09:00'), durationMinutes: 60 };
    expect(await refusal(appointments.book(asAda, hour))).toMatchObject({ rule: 'one-slot' });
    await expect(appointments.book(reception, hour)).resolves.toMatchObject({ end: '2031-01-06T10:00:00.000Z' });
  });
});

describe('payment', () => {
  async function booked() {
    const setup = setUp();
    const appointment = await setup.appointments.book(asAda, slot(ADA, '09:00'));
    return { ...setup, appointment };
  }

  it('staff record the payment of a booked appointment, of the booked amount', async () => {
    const { appointments, rows, appointment } = await booked();
    const paid = await appointments.pay(reception, appointment.id, { method: 'cash', amount: 5_000 });
    expect(paid.payment).toEqual({ method: 'cash', amount: 5_000, paidAt: NOW.toISOString() });
    expect(rows.get(appointment.id)).toEqual(paid);
  });

  it('paying twice is a conflict (409), and the first payment stays', async () => {
    const { appointments, rows, appointment } = await booked();
    await appointments.pay(reception, appointment.id, { method: 'cash', amount: 5_000 });
    expect(await refusal(appointments.pay(admin, appointment.id, { method: 'credit', amount: 5_000 }))).toMatchObject({
      type: 'ConflictError',
    });
    expect(rows.get(appointment.id)!.payment).toMatchObject({ method: 'cash' });
  });

  it('a cancelled appointment, or another amount than the booked one, is not paid (422)', async () => {
    const { appointments, rows, appointment } = await booked();
    expect(await refusal(appointments.pay(reception, appointment.id, { method: 'cash', amount: 4_999 }))).toMatchObject({
      type: 'RuleViolationError',
      expected: 5_000,
    });
    await appointments.changeStatus(asAda, appointment.id, { status: 'cancelled', reason: 'away' });
    expect(await refusal(appointments.pay(reception, appointment.id, { method: 'cash', amount: 5_000 }))).toMatchObject({
      type: 'RuleViolationError',
      status: 'cancelled',
    });
    expect(rows.get(appointment.id)!.payment).toBeNull();
  });

  it('only staff pay: the patient and the doctor are refused (403), another patient finds nothing (404)', async () => {
    const { appointments, rows, appointment } = await booked();
    await expect(appointments.pay(asAda, appointment.id, { method: 'cash', amount: 5_000 })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(appointments.pay(asDrWho, appointment.id, { method: 'cash', amount: 5_000 })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(appointments.pay(asBo, appointment.id, { method: 'cash', amount: 5_000 })).rejects.toBeInstanceOf(NotFoundError);
    expect(rows.get(appointment.id)!.payment).toBeNull();
  });
});

describe('cancellation', () => {
  it('a patient cancels their own future appointment, with a reason, and the slot is free again', async () => {
    const { appointments, rows } = setUp();
    const appointment = await appointments.book(asAda, slot(ADA, '09:00'));
    const cancelled = await appointments.changeStatus(asAda, appointment.id, { status: 'cancelled', reason: 'feeling better' });
    expect(cancelled).toMatchObject({ status: 'cancelled', cancellationReason: 'feeling better' });
    expect(rows.get(appointment.id)).toEqual(cancelled);
    await expect(appointments.book(asBo, slot(BO, '09:00'))).resolves.toMatchObject({ status: 'booked' });
  });

  it("a patient cannot cancel another patient's appointment (404: it is not theirs to see)", async () => {
    const { appointments, rows } = setUp();
    const appointment = await appointments.book(asAda, slot(ADA, '09:00'));
    await expect(appointments.changeStatus(asBo, appointment.id, { status: 'cancelled', reason: 'mine now' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect(rows.get(appointment.id)!.status).toBe('booked');
  });

  it('a cancellation needs a reason (422)', async () => {
    const { appointments, rows } = setUp();
    const appointment = await appointments.book(asAda, slot(ADA, '09:00'));
    expect(await refusal(appointments.changeStatus(asAda, appointment.id, { status: 'cancelled', reason: ' ' }))).toMatchObject({
      rule: 'cancellation-reason',
    });
    expect(rows.get(appointment.id)!.status).toBe('booked');
  });

  it('a fulfilled or an already cancelled appointment is not cancelled (422), and stays as it is', async () => {
    const { appointments, rows } = setUp();
    const seen = await appointments.book(asAda, slot(ADA, '09:00'));
    await appointments.changeStatus(asDrWho, seen.id, { status: 'checked-in' });
    await appointments.changeStatus(asDrWho, seen.id, { status: 'fulfilled' });
    expect(await refusal(appointments.changeStatus(asAda, seen.id, { status: 'cancelled', reason: 'too late' }))).toMatchObject({
      type: 'RuleViolationError',
      from: 'fulfilled',
      to: 'cancelled',
    });
    expect(rows.get(seen.id)!.status).toBe('fulfilled');

    const gone = await appointments.book(asAda, slot(ADA, '10:00'));
    await appointments.changeStatus(asAda, gone.id, { status: 'cancelled', reason: 'first' });
    expect(await refusal(appointments.changeStatus(reception, gone.id, { status: 'cancelled', reason: 'second' }))).toMatchObject({
      type: 'RuleViolationError',
      from: 'cancelled',
    });
    expect(rows.get(gone.id)!.cancellationReason).toBe('first');
  });
});
