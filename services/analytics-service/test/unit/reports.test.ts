import { countsByName, countsPerDay } from '../../src/domain/reports.js';

const NAMES = { booked: 'booked.v1', cancelled: 'cancelled.v1' };

describe('report rules', () => {
  it('names counts by type, 0 for a name with no events', () => {
    expect(countsByName(NAMES, new Map([['booked.v1', 3]]))).toEqual({ booked: 3, cancelled: 0 });
  });

  it('folds (day, type, count) rows into one entry per day with every name, in the order of the days', () => {
    expect(
      countsPerDay(NAMES, [
        { day: '2026-03-01', type: 'booked.v1', count: 2 },
        { day: '2026-03-02', type: 'cancelled.v1', count: 1 },
        { day: '2026-03-01', type: 'cancelled.v1', count: 4 },
      ]),
    ).toEqual([
      { day: '2026-03-01', booked: 2, cancelled: 4 },
      { day: '2026-03-02', booked: 0, cancelled: 1 },
    ]);
  });
});
