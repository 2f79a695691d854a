import { z } from 'zod';
import { calendarDate, timestamp } from '../src/fields.js';
import { buildOpenApiDocument } from '../src/http/openapi.js';
import { issuesFromZod } from '../src/http/problem.js';

const parsed = (schema: z.ZodType, value: unknown) => {
  const result = schema.safeParse(value);
  return result.success ? result.data : undefined;
};

describe('timestamp', () => {
  it.each([
    ['2026-03-01T09:30:00Z', '2026-03-01T09:30:00.000Z'],
    ['2026-03-01T09:30:00+14:00', '2026-02-28T19:30:00.000Z'],
    ['2026-03-01T09:30:00-14:00', '2026-03-01T23:30:00.000Z'],
    ['2026-03-01T09:30:00.5+02:00', '2026-03-01T07:30:00.500Z'],
    // Many fraction digits are cut to milliseconds, never rounded into the next second.
    ['2026-03-01T09:30:59.999999999999-00:00', '2026-03-01T09:30:59.999Z'],
    ['2024-02-29T12:00:00Z', '2024-02-29T12:00:00.000Z'],
    ['1900-01-01T00:00:00Z', '1900-01-01T00:00:00.000Z'],
    ['2999-12-31T23:59:59.999Z', '2999-12-31T23:59:59.999Z'],
  ])('%s is the instant %s', (input, utc) => {
    expect(parsed(timestamp, input)).toBe(utc);
  });

  it('normalises an offset PostgreSQL would refuse (-17:59) to the UTC instant it denotes', () => {
    expect(parsed(timestamp, '2026-02-04T12:41:04.693491-17:59')).toBe('2026-02-05T06:40:04.693Z');
    expect(parsed(timestamp, '2026-02-04T12:41:04+23:59')).toBe('2026-02-03T12:42:04.000Z');
  });

  it.each([
    ['the hostile query of the bug report (year 900)', '0900-02-04T12:41:04.693491-17:59'],
    ['year 0', '0000-01-01T00:00:00Z'],
    ['year 50 (Date would read it as 1950)', '0050-06-01T00:00:00Z'],
    ['year 1899', '1899-12-31T23:59:59Z'],
    ['year 3000', '3000-01-01T00:00:00Z'],
    ['year 10000', '10000-01-01T00:00:00Z'],
    ['a year in range that is 1899 in UTC', '1900-01-01T00:30:00+01:00'],
    ['a year in range that is 3000 in UTC', '2999-12-31T23:30:00-01:00'],
    ['Feb 30', '2026-02-30T10:00:00Z'],
    ['Feb 29 of a common year', '2025-02-29T10:00:00Z'],
    ['Feb 29 of 2100 (not a leap year)', '2100-02-29T10:00:00Z'],
    ['hour 24', '2026-03-01T24:00:00Z'],
    ['a leap second', '2026-06-30T23:59:60Z'],
    ['no offset (a wall-clock time, not an instant)', '2026-03-01T09:30:00'],
    ['an offset without colon', '2026-03-01T09:30:00+0200'],
    ['an offset of 24 hours', '2026-03-01T09:30:00+24:00'],
    ['a date only', '2026-03-01'],
    ['a number', 1_700_000_000_000],
    ['non-ASCII digits', '２０２６-03-01T09:30:00Z'],
  ])('refuses %s', (_what, input) => {
    expect(timestamp.safeParse(input).success).toBe(false);
  });

  it('says which field is wrong and why, for the problem body', () => {
    const result = z.object({ from: timestamp }).safeParse({ from: '0900-02-04T12:41:04.693491-17:59' });
    expect(result.success).toBe(false);
    expect(issuesFromZod(result.error!)).toEqual([{ path: 'from', message: 'year must be between 1900 and 2999' }]);
  });
});

describe('calendarDate', () => {
  it.each(['2024-02-29', '2000-02-29', '1900-01-01', '2999-12-31', '2026-12-31'])('accepts %s unchanged', (input) => {
    expect(parsed(calendarDate, input)).toBe(input);
  });

  it.each([
    '2026-02-30',
    '2025-02-29',
    '1900-02-29',
    '2026-13-01',
    '2026-04-31',
    '0000-01-01',
    '0900-02-04',
    '1899-12-31',
    '3000-01-01',
    '10000-01-01',
    '2026-3-1',
    '2026-03-01T00:00:00Z',
    '',
  ])('refuses %s', (input) => {
    expect(calendarDate.safeParse(input).success).toBe(false);
  });
});

describe('in OpenAPI', () => {
  it('both describe their input: a string of the ISO format and the year range', () => {
    const document = buildOpenApiDocument({ title: 't', version: '1' }, [
      {
        method: 'get',
        path: '/x',
        summary: 'x',
        tags: ['x'],
        query: z.object({ from: timestamp, day: calendarDate }),
        responses: { 200: { description: 'ok' } },
      } as never,
    ]);
    const parameters = (document.paths['/x']!.get as { parameters: { name: string; schema: Record<string, unknown> }[] }).parameters;
    expect(parameters.find((p) => p.name === 'from')!.schema).toMatchObject({ type: 'string', format: 'date-time' });
    expect(parameters.find((p) => p.name === 'day')!.schema).toMatchObject({ type: 'string', format: 'date' });
    expect(String(parameters.find((p) => p.name === 'from')!.schema.description)).toContain('1900–2999');
  });
});
