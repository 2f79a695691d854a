import { ConflictError, InvalidInputError, RuleViolationError } from '@caregrid/platform';
import {
  checkBookingTime,
  checkOneSlot,
  checkPayment,
  checkTransition,
  checkWithinHorizon,
  freeSlots,
  priceFromTariff,
  type Appointment,
  type DoctorSchedule,
} from '../../src/domain/appointment.js';
import { localDate, wallClock } from '../../src/domain/zoned-time.js';

// Berlin, 30-minute slots; Mondays 09:00–12:00 and 13:00–17:00.
const doctor: DoctorSchedule = {
  accepting: true,
  slotMinutes: 30,
  timeZone: 'Europe/Berlin',
  workingHours: {
    mon: [
      { start: '09:00', end: '12:00' },
      { start: '13:00', end: '17:00' },
    ],
  },
};
const now = new Date('2027-01-01T00:00:00Z');
// Monday 2027-01-04; Berlin is UTC+1 in winter: 09:00 local = 08:00Z.
const at = (iso: string) => new Date(iso);

const rule = (fn: () => void) => {
  try {
    fn();
  } catch (error) {
    return error instanceof RuleViolationError ? (error.details.rule as string) : (error as Error).constructor.name;
  }
  return 'ok';
};

describe('booking time rules (doctor time zone)', () => {
  it('accepts a slot on the grid inside working hours', () => {
    expect(rule(() => checkBookingTime(at('2027-01-04T08:00:00Z'), at('2027-01-04T08:30:00Z'), doctor, now))).toBe('ok');
    expect(rule(() => checkBookingTime(at('2027-01-04T10:30:00Z'), at('2027-01-04T11:00:00Z'), doctor, now))).toBe('ok'); // 11:30–12:00
  });

  it('refuses outside hours, across the lunch gap, off the grid, odd lengths', () => {
    expect(rule(() => checkBookingTime(at('2027-01-04T07:30:00Z'), at('2027-01-04T08:00:00Z'), doctor, now))).toBe('working-hours');
    expect(rule(() => checkBookingTime(at('2027-01-04T10:30:00Z'), at('2027-01-04T11:30:00Z'), doctor, now))).toBe('working-hours');
    expect(rule(() => checkBookingTime(at('2027-01-04T08:10:00Z'), at('2027-01-04T08:40:00Z'), doctor, now))).toBe('slot-aligned');
    expect(rule(() => checkBookingTime(at('2027-01-04T08:00:00Z'), at('2027-01-04T08:45:00Z'), doctor, now))).toBe('slot-aligned');
    expect(rule(() => checkBookingTime(at('2027-01-05T08:00:00Z'), at('2027-01-05T08:30:00Z'), doctor, now))).toBe('working-hours'); // Tuesday
  });

  it('follows daylight saving time: 09:00 Berlin is 07:00Z in summer', () => {
    expect(rule(() => checkBookingTime(at('2027-07-05T07:00:00Z'), at('2027-07-05T07:30:00Z'), doctor, now))).toBe('ok');
    expect(rule(() => checkBookingTime(at('2027-07-05T06:30:00Z'), at('2027-07-05T07:00:00Z'), doctor, now))).toBe('working-hours');
  });

  it('refuses the past, a reversed range and a doctor not accepting', () => {
    expect(rule(() => checkBookingTime(at('2026-12-28T08:00:00Z'), at('2026-12-28T08:30:00Z'), doctor, now))).toBe('start-in-future');
    expect(() => checkBookingTime(at('2027-01-04T08:30:00Z'), at('2027-01-04T08:00:00Z'), doctor, now)).toThrow(InvalidInputError);
    expect(rule(() => checkBookingTime(at('2027-01-04T08:00:00Z'), at('2027-01-04T08:30:00Z'), { ...doctor, accepting: false }, now))).toBe(
      'doctor-accepting',
    );
  });
});

describe('booking limits', () => {
  it('no start beyond the horizon (422 booking-horizon, naming the latest start)', () => {
    expect(rule(() => checkWithinHorizon(at('2027-06-30T00:00:00Z'), now, 180))).toBe('ok');
    expect(rule(() => checkWithinHorizon(at('2027-06-30T00:00:01Z'), now, 180))).toBe('booking-horizon');
    expect(rule(() => checkWithinHorizon(at('2999-01-07T08:00:00Z'), now, 180))).toBe('booking-horizon');
    let refusal: unknown;
    try {
      checkWithinHorizon(at('2999-01-07T08:00:00Z'), now, 30);
    } catch (error) {
      refusal = error;
    }
    expect((refusal as RuleViolationError).details).toEqual({
      rule: 'booking-horizon',
      horizonDays: 30,
      latestStart: '2027-01-31T00:00:00.000Z',
    });
  });

  it("a patient's booking is exactly one slot: two back to back (valid for staff) or a whole day are refused", () => {
    expect(rule(() => checkOneSlot(at('2027-01-04T08:00:00Z'), at('2027-01-04T08:30:00Z'), doctor))).toBe('ok');
    expect(rule(() => checkBookingTime(at('2027-01-04T08:00:00Z'), at('2027-01-04T09:00:00Z'), doctor, now))).toBe('ok');
    expect(rule(() => checkOneSlot(at('2027-01-04T08:00:00Z'), at('2027-01-04T09:00:00Z'), doctor))).toBe('one-slot');
    expect(rule(() => checkOneSlot(at('2027-01-04T08:00:00Z'), at('2027-01-04T16:00:00Z'), doctor))).toBe('one-slot');
  });

  it('one slot across a DST change is still slotMinutes of real time', () => {
    // Berlin falls back on Sunday 2027-10-31 at 03:00 (02:00–03:00 twice); a Sunday 01:30–04:30 shift.
    const sunday = { ...doctor, workingHours: { sun: [{ start: '01:30', end: '04:30' }] } };
    const day = localDate('2027-10-31', 'Europe/Berlin');
    const [first, second] = day.instantsOf(150); // 02:30, twice
    for (const start of [first!, second!]) {
      const end = new Date(start.getTime() + 30 * 60_000);
      expect(rule(() => checkBookingTime(start, end, sunday, now))).toBe('ok');
      expect(rule(() => checkOneSlot(start, end, sunday))).toBe('ok');
    }
  });
});

describe('price from the tariff', () => {
  const tariff = { fees: { consultation: 6_500, vaccination: 0 }, currency: 'CHF' };

  it("takes the doctor's fee for the service type, in the doctor's currency", () => {
    expect(priceFromTariff(tariff, 'consultation')).toEqual({ amount: 6_500, currency: 'CHF' });
    expect(priceFromTariff(tariff, 'vaccination')).toEqual({ amount: 0, currency: 'CHF' }); // free is a price, not a gap
  });

  it('refuses a service type without a fee (422 service-not-offered), naming what is offered', () => {
    expect(rule(() => priceFromTariff({ fees: {}, currency: 'EUR' }, 'checkup'))).toBe('service-not-offered');
    let refusal: unknown;
    try {
      priceFromTariff(tariff, 'surgery');
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(RuleViolationError);
    expect((refusal as RuleViolationError).details).toEqual({
      rule: 'service-not-offered',
      serviceType: 'surgery',
      offered: ['consultation', 'vaccination'],
    });
  });
});

describe('zoned time', () => {
  it('maps wall clock and instants both ways, across DST', () => {
    const instants = (date: string, minutes: number, zone: string) =>
      localDate(date, zone)
        .instantsOf(minutes)
        .map((t) => t.toISOString());
    expect(instants('2027-01-04', 9 * 60, 'Europe/Berlin')).toEqual(['2027-01-04T08:00:00.000Z']);
    expect(instants('2027-07-05', 9 * 60, 'Europe/Berlin')).toEqual(['2027-07-05T07:00:00.000Z']);
    expect(instants('2027-01-04', 9 * 60, 'America/New_York')).toEqual(['2027-01-04T14:00:00.000Z']);
    expect(wallClock(at('2027-01-04T23:30:00Z'), 'Europe/Berlin')).toEqual({ date: '2027-01-05', weekday: 'tue', minutes: 30 });
  });

  it('a skipped time has no instant, a repeated one two; a changeover day is 23 or 25 hours long', () => {
    const berlinSpring = localDate('2027-03-28', 'Europe/Berlin');
    expect(berlinSpring.instantsOf(2 * 60 + 30)).toEqual([]);
    expect([berlinSpring.start.toISOString(), berlinSpring.end.toISOString()]).toEqual([
      '2027-03-27T23:00:00.000Z',
      '2027-03-28T22:00:00.000Z',
    ]);
    const newYorkFall = localDate('2027-11-07', 'America/New_York');
    expect(newYorkFall.instantsOf(90).map((t) => t.toISOString())).toEqual(['2027-11-07T05:30:00.000Z', '2027-11-07T06:30:00.000Z']);
    expect((newYorkFall.end.getTime() - newYorkFall.start.getTime()) / 3_600_000).toBe(25);
    // 00:00–01:30 on the fall-back night: 01:30 EDT to 01:00 EST is outside it.
    expect(newYorkFall.spansBetween(0, 90).map((span) => [span.start.toISOString(), span.end.toISOString()])).toEqual([
      ['2027-11-07T04:00:00.000Z', '2027-11-07T05:30:00.000Z'],
      ['2027-11-07T06:00:00.000Z', '2027-11-07T06:30:00.000Z'],
    ]);
  });
});

describe('free slots', () => {
  it('lists the grid minus busy ranges and the past', () => {
    const busy = [{ start: at('2027-01-04T08:30:00Z'), end: at('2027-01-04T09:30:00Z') }];
    const slots = freeSlots(doctor, '2027-01-04', busy, now);
    expect(slots).toHaveLength(6 + 8 - 2);
    expect(slots[0]).toEqual({ start: '2027-01-04T08:00:00.000Z', end: '2027-01-04T08:30:00.000Z' });
    expect(slots[1]!.start).toBe('2027-01-04T09:30:00.000Z');
    expect(freeSlots(doctor, '2027-01-05', [], now)).toEqual([]);
    expect(freeSlots(doctor, '2027-01-04', [], at('2027-01-04T14:45:00Z'))).toHaveLength(2); // 15:45 local: 16:00 and 16:30 remain
  });
});

describe('lifecycle and payment', () => {
  it('allows the FHIR-aligned transitions only', () => {
    expect(rule(() => checkTransition('booked', 'checked-in', undefined))).toBe('ok');
    expect(rule(() => checkTransition('checked-in', 'fulfilled', undefined))).toBe('ok');
    expect(rule(() => checkTransition('booked', 'noshow', undefined))).toBe('ok');
    expect(rule(() => checkTransition('booked', 'cancelled', 'patient ill'))).toBe('ok');
    expect(rule(() => checkTransition('booked', 'cancelled', ' '))).toBe('cancellation-reason');
    expect(() => checkTransition('booked', 'fulfilled', undefined)).toThrow(RuleViolationError);
    expect(() => checkTransition('fulfilled', 'booked', undefined)).toThrow(RuleViolationError);
    expect(() => checkTransition('cancelled', 'checked-in', undefined)).toThrow(RuleViolationError);
  });

  it('takes a payment once, for the exact amount, not for a cancelled visit', () => {
    const appointment = { amount: 5000, currency: 'EUR', status: 'booked', payment: null } as Appointment;
    expect(() => checkPayment(appointment, 5000)).not.toThrow();
    expect(() => checkPayment(appointment, 4999)).toThrow(RuleViolationError);
    expect(() => checkPayment({ ...appointment, payment: { method: 'cash', amount: 5000, paidAt: '' } }, 5000)).toThrow(ConflictError);
    expect(() => checkPayment({ ...appointment, status: 'cancelled' }, 5000)).toThrow(RuleViolationError);
  });
});
