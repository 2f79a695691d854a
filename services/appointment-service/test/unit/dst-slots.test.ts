import { RuleViolationError } from '@caregrid/platform';
import { checkBookingTime, freeSlots, type DoctorSchedule } from '../../src/domain/appointment.js';
import { wallClock, WEEKDAYS } from '../../src/domain/zoned-time.js';

/*
 * A night shift, 00:00–04:00 by the doctor's wall clock, across daylight-saving changes.
 * What the clinic expects: the doctor works by the clock on the wall. On a spring-forward
 * night the shift is three real hours and the skipped hour has no slots; on a fall-back night
 * it is five, and the repeated hour is worked (and bookable) in both its occurrences, each
 * slot a distinct instant with its own UTC start, never the same start twice.
 */
const NIGHTS = [
  { timeZone: 'America/New_York', change: 'spring-forward', date: '2027-03-14', realHours: 3 },
  { timeZone: 'America/New_York', change: 'fall-back', date: '2027-11-07', realHours: 5 },
  { timeZone: 'Europe/Berlin', change: 'spring-forward', date: '2027-03-28', realHours: 3 },
  { timeZone: 'Europe/Berlin', change: 'fall-back', date: '2027-10-31', realHours: 5 },
] as const;

const SHIFT = { start: 0, end: 4 * 60 }; // 00:00–04:00, in wall-clock minutes
const MINUTE = 60_000;
const now = new Date('2027-01-01T00:00:00Z');

const nightShiftDoctor = (timeZone: string, slotMinutes: number): DoctorSchedule => ({
  accepting: true,
  slotMinutes,
  timeZone,
  workingHours: Object.fromEntries(WEEKDAYS.map((day) => [day, [{ start: '00:00', end: '04:00' }]])),
});

const shiftDay = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

const slotsOf = (doctor: DoctorSchedule, date: string) =>
  freeSlots(doctor, date, [], now).map((slot) => ({ start: new Date(slot.start), end: new Date(slot.end) }));

const outcome = (fn: () => void) => {
  try {
    fn();
  } catch (error) {
    return error instanceof RuleViolationError ? (error.details.rule as string) : (error as Error).constructor.name;
  }
  return 'ok';
};

const cases = NIGHTS.flatMap((night) =>
  [-1, 0, 1].flatMap((days) =>
    [30, 45, 60].map((slotMinutes) => ({
      ...night,
      date: shiftDay(night.date, days),
      day: days === 0 ? night.change : days < 0 ? 'day before' : 'day after',
      realHours: days === 0 ? night.realHours : 4,
      slotMinutes,
    })),
  ),
);

describe.each(cases)('$timeZone $date ($day), 00:00–04:00, $slotMinutes-minute slots', ({ timeZone, date, slotMinutes, realHours }) => {
  const doctor = nightShiftDoctor(timeZone, slotMinutes);
  const slots = slotsOf(doctor, date);

  it('no duplicate start, every end after its start, every slot the configured length in elapsed minutes', () => {
    const starts = slots.map((slot) => slot.start.toISOString());
    expect(new Set(starts).size).toBe(starts.length);
    for (const slot of slots) {
      expect(slot.end.getTime()).toBeGreaterThan(slot.start.getTime());
      expect((slot.end.getTime() - slot.start.getTime()) / MINUTE).toBe(slotMinutes);
    }
  });

  it('slots do not overlap one another', () => {
    const sorted = [...slots].sort((a, b) => a.start.getTime() - b.start.getTime());
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.start.getTime()).toBeGreaterThanOrEqual(sorted[i - 1]!.end.getTime());
  });

  it("every minute of every slot lies in the doctor's working hours by their wall clock, starting on the grid", () => {
    for (const slot of slots) {
      const start = wallClock(slot.start, timeZone);
      expect({ date: start.date, onGrid: (start.minutes - SHIFT.start) % slotMinutes === 0 }).toEqual({ date, onGrid: true });
      for (let t = slot.start.getTime(); t < slot.end.getTime(); t += MINUTE) {
        const clock = wallClock(new Date(t), timeZone);
        expect(clock.date === date && clock.minutes >= SHIFT.start && clock.minutes < SHIFT.end).toBe(true);
      }
    }
  });

  it('the slots cover the real working time of the night when the slot length divides the hour', () => {
    if (60 % slotMinutes !== 0) return;
    expect(slots).toHaveLength((realHours * 60) / slotMinutes);
  });

  it('booking accepts exactly the offered slots: an offered slot is accepted, any other start is refused', () => {
    const neighbours = [-1, 1].flatMap((days) => slotsOf(doctor, shiftDay(date, days)));
    const offered = new Set([...slots, ...neighbours].map((slot) => slot.start.getTime()));
    for (const slot of slots)
      expect([slot.start.toISOString(), outcome(() => checkBookingTime(slot.start, slot.end, doctor, now))]).toEqual([
        slot.start.toISOString(),
        'ok',
      ]);
    // Every quarter hour of the local date and some way into the dates either side.
    const from = Date.parse(`${date}T00:00:00Z`) - 16 * 3_600_000;
    const to = Date.parse(`${date}T00:00:00Z`) + 40 * 3_600_000;
    for (let t = from; t < to; t += 15 * MINUTE) {
      if (offered.has(t)) continue;
      const start = new Date(t);
      expect([start.toISOString(), outcome(() => checkBookingTime(start, new Date(t + slotMinutes * MINUTE), doctor, now))]).not.toEqual([
        start.toISOString(),
        'ok',
      ]);
    }
  });
});

describe('the changeover nights, slot by slot (30-minute slots)', () => {
  const startsOf = (timeZone: string, date: string) =>
    slotsOf(nightShiftDoctor(timeZone, 30), date).map((slot) => slot.start.toISOString().slice(11, 16));

  it('New York spring-forward: 02:00–02:59 does not exist, so no slot there', () => {
    // 00:00–01:30 EST (UTC−5), then 03:00–03:30 EDT (UTC−4).
    expect(startsOf('America/New_York', '2027-03-14')).toEqual(['05:00', '05:30', '06:00', '06:30', '07:00', '07:30']);
  });

  it('New York fall-back: 01:00–01:59 happens twice (EDT, then EST) and both are bookable once each', () => {
    expect(startsOf('America/New_York', '2027-11-07')).toEqual([
      '04:00',
      '04:30',
      '05:00',
      '05:30',
      '06:00',
      '06:30',
      '07:00',
      '07:30',
      '08:00',
      '08:30',
    ]);
  });

  it('Berlin spring-forward: 02:00–02:59 does not exist', () => {
    // 00:00–01:30 CET (UTC+1, the evening before in UTC), then 03:00–03:30 CEST (UTC+2).
    expect(startsOf('Europe/Berlin', '2027-03-28')).toEqual(['23:00', '23:30', '00:00', '00:30', '01:00', '01:30']);
  });

  it('Berlin fall-back: 02:00–02:59 happens twice (CEST, then CET)', () => {
    expect(startsOf('Europe/Berlin', '2027-10-31')).toEqual([
      '22:00',
      '22:30',
      '23:00',
      '23:30',
      '00:00',
      '00:30',
      '01:00',
      '01:30',
      '02:00',
      '02:30',
    ]);
  });

  it('a booking of consecutive slots may run across the skipped hour', () => {
    // 01:30 EST to 03:30 EDT is one real hour: two 30-minute slots back to back.
    const doctor = nightShiftDoctor('America/New_York', 30);
    expect(outcome(() => checkBookingTime(new Date('2027-03-14T06:30:00Z'), new Date('2027-03-14T07:30:00Z'), doctor, now))).toBe('ok');
  });

  it('a booking through the part of a repeated hour outside the working hours is refused', () => {
    // Hours 00:00–01:30: on the fall-back night the doctor works 00:00–01:30 EDT and again 01:00–01:30 EST, not between.
    const doctor = { ...nightShiftDoctor('America/New_York', 30), workingHours: { sun: [{ start: '00:00', end: '01:30' }] } };
    const starts = slotsOf(doctor, '2027-11-07').map((slot) => slot.start.toISOString().slice(11, 16));
    expect(starts).toEqual(['04:00', '04:30', '05:00', '06:00']);
    // 01:00 EDT to 01:00 EST: the clock reads 01:00–01:30 at both ends, but 01:30–02:00 EDT lies between.
    expect(outcome(() => checkBookingTime(new Date('2027-11-07T05:00:00Z'), new Date('2027-11-07T06:00:00Z'), doctor, now))).toBe(
      'working-hours',
    );
    expect(outcome(() => checkBookingTime(new Date('2027-11-07T06:00:00Z'), new Date('2027-11-07T06:30:00Z'), doctor, now))).toBe('ok');
  });
});
