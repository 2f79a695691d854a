import { checkCancellation, dueDate, formatMoney, invoiceNumber, totalsFromGross } from '../../src/domain/invoice.js';

describe('invoice rules', () => {
  it('numbers per year with six digits', () => {
    expect(invoiceNumber(2026, 123)).toBe('INV-2026-000123');
  });

  it('splits a gross price into net and tax in minor units that always add up', () => {
    expect(totalsFromGross(5000, 0)).toEqual({ net: 5000, tax: 0, gross: 5000 });
    expect(totalsFromGross(11900, 1900)).toEqual({ net: 10000, tax: 1900, gross: 11900 });
    for (const gross of [1, 99, 12345, 99999]) {
      const { net, tax } = totalsFromGross(gross, 700);
      expect(net + tax).toBe(gross);
    }
  });

  it('formats minor units by the currency’s own decimals', () => {
    expect(formatMoney(12345, 'EUR')).toBe('123.45 EUR');
    expect(formatMoney(500, 'JPY')).toBe('500 JPY');
  });

  it('dates payment terms and refuses to cancel twice', () => {
    expect(dueDate(new Date('2026-11-25T10:00:00Z'), 14)).toBe('2026-12-09');
    expect(() => checkCancellation({ status: 'cancelled' })).toThrow(/already cancelled/);
    expect(() => checkCancellation({ status: 'balanced' })).not.toThrow();
  });
});
