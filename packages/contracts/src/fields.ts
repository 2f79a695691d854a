import { z } from 'zod';

/**
 * Years every store here keeps alike: PostgreSQL refuses year 0 and UTC offsets past ±15:59,
 * MariaDB's DATETIME starts at year 1000, JavaScript's Date maps years 0–99 to 1900–1999.
 * Nobody books, bills or is born outside these.
 */
export const YEAR_RANGE = { min: 1900, max: 2999 } as const;

const yearMessage = `year must be between ${YEAR_RANGE.min} and ${YEAR_RANGE.max}`;
const inYearRange = (year: number) => year >= YEAR_RANGE.min && year <= YEAR_RANGE.max;

// The shape z.iso.datetime({ offset: true }) has already checked; only its parts are read here.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/** The instant a checked date-time denotes, or undefined when its written year is out of range. */
function instantOf(value: string): Date | undefined {
  const [, year, month, day, hour, minute, second, fraction = '', sign, offsetHours, offsetMinutes] = DATE_TIME.exec(value)!;
  if (!inYearRange(Number(year))) return undefined;
  // Fractions beyond milliseconds are cut, never rounded up into the next second (or year).
  const millis = Number(fraction.padEnd(3, '0').slice(0, 3));
  const local = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second), millis);
  const offset = sign ? (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes)) : 0;
  return new Date(local - offset * 60_000);
}

/**
 * An instant: ISO 8601 date-time with `Z` or a UTC offset (`+02:00`), a real calendar day, any
 * number of fraction digits; the year, as written and in UTC, within YEAR_RANGE. Parses to the
 * same instant as a UTC ISO string (millisecond precision), so no offset, however odd, reaches
 * a database.
 */
export const timestamp = z.iso
  .datetime({ offset: true })
  .transform((value, ctx) => {
    const instant = instantOf(value);
    if (!instant || !inYearRange(instant.getUTCFullYear())) {
      ctx.addIssue({ code: 'custom', input: value, message: yearMessage });
      return z.NEVER;
    }
    return instant.toISOString();
  })
  .meta({ description: `ISO 8601 date-time with Z or a UTC offset; years ${YEAR_RANGE.min}–${YEAR_RANGE.max}` });

/** A calendar day `YYYY-MM-DD` (a real one: no Feb 30), its year within YEAR_RANGE. */
export const calendarDate = z.iso
  .date()
  .refine((value) => inYearRange(Number(value.slice(0, 4))), yearMessage)
  .meta({ description: `YYYY-MM-DD; years ${YEAR_RANGE.min}–${YEAR_RANGE.max}` });
