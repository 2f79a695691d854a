import { z } from 'zod';
import { YEAR_RANGE } from '@caregrid/contracts';

const inYearRange = (year: number) => year >= YEAR_RANGE.min && year <= YEAR_RANGE.max;
const yearMessage = `year must be between ${YEAR_RANGE.min} and ${YEAR_RANGE.max}`;

/** A FHIR `instant`/`dateTime` with a time: Z or an offset required; normalised to a UTC ISO string. */
export const instant = z.iso
  .datetime({ offset: true, error: 'must be a date-time with Z or a UTC offset, e.g. 2026-03-02T09:00:00Z' })
  .transform((value, ctx) => {
    const parsed = new Date(value);
    if (Number.isNaN(parsed.getTime()) || !inYearRange(Number(value.slice(0, 4))) || !inYearRange(parsed.getUTCFullYear())) {
      ctx.addIssue({ code: 'custom', input: value, message: yearMessage });
      return z.NEVER;
    }
    return parsed.toISOString();
  });

/**
 * A FHIR date search value as the half-open interval it denotes, by its
 * precision: `2026` is the year, `2026-03` the month, `2026-03-02` the day
 * (these three in UTC: FHIR leaves the zone of a bare date to the server),
 * `2026-03-02T09:00Z` that minute, with seconds that second, with a fraction
 * that millisecond.
 */
export type Interval = { lower: Date; upper: Date };

const PARTIAL = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;
const WITH_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

export function intervalOf(value: string, options: { time: boolean }): Interval | string {
  const partial = PARTIAL.exec(value);
  if (partial) {
    const [, year, month, day] = partial;
    if (!inYearRange(Number(year))) return yearMessage;
    const y = Number(year);
    const m = month === undefined ? 0 : Number(month) - 1;
    const d = day === undefined ? 1 : Number(day);
    const lower = new Date(Date.UTC(y, m, d));
    if (lower.getUTCMonth() !== m || lower.getUTCDate() !== d) return `${value} is not a calendar date`;
    const upper =
      day !== undefined
        ? new Date(Date.UTC(y, m, d + 1))
        : month !== undefined
          ? new Date(Date.UTC(y, m + 1, 1))
          : new Date(Date.UTC(y + 1, 0, 1));
    return { lower, upper };
  }
  const timed = options.time ? WITH_TIME.exec(value) : null;
  if (!timed) {
    return options.time
      ? 'must be YYYY, YYYY-MM, YYYY-MM-DD or a date-time with Z or an offset (YYYY-MM-DDThh:mm[:ss[.sss]]Z)'
      : 'must be YYYY, YYYY-MM or YYYY-MM-DD';
  }
  const [, , , , , , seconds, fraction, zone] = timed;
  const full = `${value.slice(0, 16)}:${seconds ?? '00'}${fraction ?? ''}${zone}`;
  const parsed = instant.safeParse(full);
  if (!parsed.success) return parsed.error.issues[0]?.message ?? 'not a date-time';
  const lower = new Date(parsed.data);
  const step = fraction !== undefined ? 1 : seconds !== undefined ? 1_000 : 60_000;
  return { lower, upper: new Date(lower.getTime() + step) };
}

export const DATE_PREFIXES = ['eq', 'ge', 'gt', 'le', 'lt'] as const;
export type DatePrefix = (typeof DATE_PREFIXES)[number];

/** Bounds on a point in time: `from` inclusive, `to` exclusive, either open. */
export type Bounds = { from?: Date; to?: Date };

/**
 * What a prefixed value allows of a point target t (FHIR R4 search, dates):
 * eq t ∈ [lower, upper); ge t ≥ lower; gt t ≥ upper; le t < upper; lt t < lower.
 */
export function boundsOf(prefix: DatePrefix, { lower, upper }: Interval): Bounds {
  switch (prefix) {
    case 'eq':
      return { from: lower, to: upper };
    case 'ge':
      return { from: lower };
    case 'gt':
      return { from: upper };
    case 'le':
      return { to: upper };
    case 'lt':
      return { to: lower };
  }
}

/** Repeated date parameters are ANDed: the narrowest bounds win. */
export function intersect(all: Bounds[]): Bounds {
  const result: Bounds = {};
  for (const bounds of all) {
    if (bounds.from && (!result.from || bounds.from > result.from)) result.from = bounds.from;
    if (bounds.to && (!result.to || bounds.to < result.to)) result.to = bounds.to;
  }
  return result;
}
