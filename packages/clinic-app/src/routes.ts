/** Which screens each role sees, in navigation order; the first is the role's home. Pure: unit-tested. */
export type Role = 'admin' | 'receptionist' | 'doctor' | 'patient';
export type ScreenId =
  'reports' | 'operations' | 'schedule' | 'patients' | 'day' | 'week' | 'my-patients' | 'appointments' | 'book' | 'invoices';

export const SCREENS: Record<ScreenId, { path: string; title: string }> = {
  reports: { path: '/app/reports', title: 'Reports' },
  operations: { path: '/app/operations', title: 'Operations' },
  schedule: { path: '/app/schedule', title: 'Schedule' },
  patients: { path: '/app/patients', title: 'Patients' },
  day: { path: '/app/day', title: 'My day' },
  week: { path: '/app/week', title: 'My week' },
  'my-patients': { path: '/app/my-patients', title: 'My patients' },
  appointments: { path: '/app/appointments', title: 'My appointments' },
  book: { path: '/app/book', title: 'Book' },
  invoices: { path: '/app/invoices', title: 'My invoices' },
};

const BY_ROLE: Record<Role, ScreenId[]> = {
  admin: ['reports', 'schedule', 'patients', 'operations'],
  receptionist: ['schedule', 'patients'],
  doctor: ['day', 'week', 'my-patients'],
  patient: ['appointments', 'book', 'invoices'],
};

/** The screens of every role the account has, without repeats (an account may hold several roles). */
export function screensFor(roles: readonly string[]): ScreenId[] {
  return [...new Set(roles.flatMap((role) => BY_ROLE[role as Role] ?? []))];
}

/** The screen a path shows for these roles: the role's home for /app or a screen the roles may not see. */
export function screenAt(pathname: string, roles: readonly string[]): ScreenId | undefined {
  const allowed = screensFor(roles);
  const path = pathname.replace(/\/+$/, '');
  return allowed.find((id) => SCREENS[id].path === path) ?? allowed[0];
}
