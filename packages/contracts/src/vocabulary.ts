/**
 * The clinic's closed vocabularies, without zod: the browser app imports this module alone
 * (`@caregrid/contracts/vocabulary`) so that its bundle does not carry the schemas.
 */
export const SERVICE_TYPES = ['consultation', 'surgery', 'vaccination', 'checkup', 'follow-up'] as const;
export const APPOINTMENT_STATUSES = ['booked', 'checked-in', 'fulfilled', 'cancelled', 'noshow'] as const;
export const PAYMENT_METHODS = ['credit', 'debit', 'cash', 'insurance'] as const;
export const INVOICE_STATUSES = ['draft', 'issued', 'balanced', 'cancelled'] as const;

export const SPECIALIZATIONS = [
  'cardiology',
  'dermatology',
  'neurology',
  'orthopedics',
  'pediatrics',
  'psychiatry',
  'radiology',
  'surgery',
  'urology',
  'general-practice',
] as const;

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/**
 * The problem type's slug (`urn:caregrid:problem:<slug>`, 403) of a sign-in whose password is right
 * but was set by someone else (an admin): no tokens until the owner chooses one with POST /auth/password.
 */
export const PASSWORD_CHANGE_REQUIRED = 'password-change-required';
