/** Which screens each role sees, in navigation order; the first is the role's home. Pure: unit-tested. */
export type Role = 'admin' | 'receptionist' | 'doctor' | 'patient';
export type ScreenId =
  'reports' | 'operations' | 'schedule' | 'patients' | 'day' | 'week' | 'my-patients' | 'appointments' | 'book' | 'invoices' | 'settings';

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
  settings: { path: '/app/settings', title: 'Settings' },
};

const BY_ROLE: Record<Role, ScreenId[]> = {
  admin: ['reports', 'schedule', 'patients', 'operations'],
  receptionist: ['schedule', 'patients'],
  doctor: ['day', 'week', 'my-patients'],
  patient: ['appointments', 'book', 'invoices', 'settings'],
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

/**
 * The screens anyone reaches without signing in, by the URL's fragment: the mailed links
 * (`#/verify`, `#/reset`, `#/invite`, each `?token=…`, as auth-service writes them) and the
 * sign-in page's own links (`#/sign-up`, `#/forgot`).
 */
export type PublicScreen = 'verify' | 'reset' | 'invite' | 'sign-up' | 'forgot';
const PUBLIC_SCREENS: readonly PublicScreen[] = ['verify', 'reset', 'invite', 'sign-up', 'forgot'];

/** The public screen a fragment names, with the link's token when it carries one; undefined for any other fragment. */
export function publicScreenAt(hash: string): { screen: PublicScreen; token?: string } | undefined {
  const match = /^#\/([a-z-]+)(?:\?(.*))?$/.exec(hash);
  const screen = PUBLIC_SCREENS.find((s) => s === match?.[1]);
  if (!screen) return undefined;
  const token = new URLSearchParams(match?.[2] ?? '').get('token') ?? undefined;
  return token ? { screen, token } : { screen };
}
