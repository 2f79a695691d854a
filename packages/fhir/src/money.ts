/**
 * Money: ours is integer minor units plus an ISO 4217 code; FHIR's `Money.value`
 * is a decimal. The conversion goes through the decimal's digits as text, so
 * 12345 EUR cents is exactly 123.45 (never 123.44999…), with the number of minor
 * digits the currency has (JPY 0, EUR 2, KWD 3: the runtime's ISO 4217 data,
 * as billing-service's PDFs use).
 */
export type FhirMoney = { value: number; currency: string };

export function minorDigits(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** Beyond 15 significant digits a double no longer round-trips every decimal. */
const MAX_EXACT = 999_999_999_999_999;

export function toFhirMoney(amount: number, currency: string): FhirMoney {
  if (!Number.isSafeInteger(amount) || Math.abs(amount) > MAX_EXACT) {
    throw new RangeError(`amount ${amount} is not an integer of at most 15 digits`);
  }
  return { value: decimalOf(amount, minorDigits(currency)), currency };
}

/** `scaled` / 10^digits, built as decimal text: Number("123.45") is the double whose shortest form (what JSON writes) is "123.45". */
export function decimalOf(scaled: number, digits: number): number {
  const sign = scaled < 0 ? '-' : '';
  const text = String(Math.abs(scaled)).padStart(digits + 1, '0');
  return Number(`${sign}${digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`}`);
}

/** The inverse: a FHIR amount to minor units; more decimals than the currency has is refused, not rounded. */
export function fromFhirMoney(money: FhirMoney): number {
  const text = String(money.value);
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) throw new RangeError(`${text} is not a plain decimal amount`);
  const [, sign, whole, fraction = ''] = match;
  const digits = minorDigits(money.currency);
  if (fraction.length > digits) throw new RangeError(`${money.currency} has ${digits} minor digits; ${text} has more`);
  const minor = Number(`${whole}${fraction.padEnd(digits, '0')}`);
  if (!Number.isSafeInteger(minor) || minor > MAX_EXACT) throw new RangeError(`${text} is too large`);
  return sign ? -minor : minor;
}
