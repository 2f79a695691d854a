/**
 * Wall-clock time in an IANA zone, from the runtime's own tz database (Intl):
 * what a doctor's working hours mean, whatever zone the server runs in.
 */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

export type WallClock = { date: string; weekday: Weekday; minutes: number };

/** The weekday of a calendar date (the same in every zone). */
export const weekdayOf = (date: string): Weekday => WEEKDAYS[new Date(`${date}T00:00:00Z`).getUTCDay()]!;

export function wallClock(instant: Date, timeZone: string): WallClock {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  const date = `${parts.year}-${parts.month}-${parts.day}`;
  return { date, weekday: weekdayOf(date), minutes: Number(parts.hour) * 60 + Number(parts.minute) };
}

/** Offset of the zone from UTC at an instant, in minutes (e.g. +60 for Berlin in winter). */
function offsetMinutes(instant: number, timeZone: string): number {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  const asUtc = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  return Math.round((asUtc - Math.floor(instant / 1000) * 1000) / 60_000);
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export type Span = { start: Date; end: Date };

/**
 * One local date of a zone as real time. A wall-clock time is not one instant:
 * on a spring-forward day a skipped time has none, on a fall-back day a
 * repeated time has two. Everything that turns wall-clock times into instants
 * goes through here.
 */
export type LocalDate = {
  date: string;
  weekday: Weekday;
  /** The first instant of the date and the first of the next one. */
  start: Date;
  end: Date;
  /** The instants at which the clock reads `minutes` after midnight on this date, in order: none, one or two. */
  instantsOf(minutes: number): Date[];
  /** The real time during which the clock reads within [from, to) on this date: one span, or two when a fall-back repeats only part of it. */
  spansBetween(from: number, to: number): Span[];
};

export function localDate(date: string, timeZone: string): LocalDate {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const midnight = Date.UTC(year, month - 1, day); // the date's midnight read as if it were UTC
  // Stretches of the date with one offset each: the clock reads instant + offset.
  const stretches: { from: number; to: number; offset: number }[] = [];
  const stretch = (offset: number, after: number, before: number) => {
    const from = Math.max(after, midnight - offset * MINUTE);
    const to = Math.min(before, midnight + 24 * HOUR - offset * MINUTE);
    if (from < to) stretches.push({ from, to, offset });
  };
  // Offsets lie within −12 h…+14 h, so the date's instants lie in this window; it holds at most one offset change.
  let lo = midnight - 15 * HOUR;
  let hi = midnight + 39 * HOUR;
  const before = offsetMinutes(lo, timeZone);
  const after = offsetMinutes(hi, timeZone);
  if (before === after) {
    stretch(before, -Infinity, Infinity);
  } else {
    while (hi - lo > MINUTE) {
      const mid = lo + Math.floor((hi - lo) / 2 / MINUTE) * MINUTE;
      if (offsetMinutes(mid, timeZone) === before) lo = mid;
      else hi = mid;
    }
    stretch(before, -Infinity, hi);
    stretch(after, hi, Infinity);
  }
  const at = (minutes: number, offset: number) => midnight + (minutes - offset) * MINUTE;
  return {
    date,
    weekday: weekdayOf(date),
    start: new Date(stretches[0]!.from),
    end: new Date(stretches[stretches.length - 1]!.to),
    instantsOf: (minutes) =>
      stretches.flatMap((s) => {
        const t = at(minutes, s.offset);
        return s.from <= t && t < s.to ? [new Date(t)] : [];
      }),
    spansBetween(from, to) {
      const spans: Span[] = [];
      for (const s of stretches) {
        const start = Math.max(s.from, at(from, s.offset));
        const end = Math.min(s.to, at(to, s.offset));
        if (start >= end) continue;
        const last = spans[spans.length - 1];
        if (last && last.end.getTime() === start) last.end = new Date(end);
        else spans.push({ start: new Date(start), end: new Date(end) });
      }
      return spans;
    },
  };
}

export const toMinutes = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));
