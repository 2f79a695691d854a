import { ENDPOINTS } from '@caregrid/platform';

/**
 * The gateway's route table: public path prefix → app-id and the path the
 * service knows. `/api` is stripped (StripPrefix); billing's routes are
 * rewritten (`/api/billing/invoices` → `/invoices`, RewritePath).
 */
export type GatewayRoute = { publicPrefix: string; appId: string; targetPrefix: string };

/** The public FHIR base; `${FHIR_BASE}/metadata` (the CapabilityStatement) the gateway answers itself. */
export const FHIR_BASE = '/api/fhir';

/** Which service serves each FHIR resource type (the one that owns the records). */
export const FHIR_TYPES: readonly (readonly [string, string])[] = [
  ['Patient', 'patient-service'],
  ['Practitioner', 'doctor-service'],
  ['PractitionerRole', 'doctor-service'],
  ['Appointment', 'appointment-service'],
  ['Slot', 'appointment-service'],
  ['Schedule', 'appointment-service'],
  ['Invoice', 'billing-service'],
  ['CommunicationRequest', 'notification-service'],
  ['Communication', 'notification-service'],
];

export const ROUTES: readonly GatewayRoute[] = [
  { publicPrefix: '/api/auth', appId: 'auth-service', targetPrefix: '/auth' },
  { publicPrefix: '/.well-known/jwks.json', appId: 'auth-service', targetPrefix: '/.well-known/jwks.json' },
  { publicPrefix: '/api/patients', appId: 'patient-service', targetPrefix: '/patients' },
  { publicPrefix: '/api/doctors', appId: 'doctor-service', targetPrefix: '/doctors' },
  { publicPrefix: '/api/appointments', appId: 'appointment-service', targetPrefix: '/appointments' },
  { publicPrefix: '/api/billing', appId: 'billing-service', targetPrefix: '' },
  { publicPrefix: '/api/analytics', appId: 'analytics-service', targetPrefix: '/analytics' },
  { publicPrefix: '/api/audit', appId: 'analytics-service', targetPrefix: '/audit' },
  { publicPrefix: '/api/notifications', appId: 'notification-service', targetPrefix: '/notifications' },
  // FHIR R4: each resource type at the service that owns it (`/api/fhir/Patient` → `/fhir/Patient`); metadata is the gateway's.
  ...FHIR_TYPES.map(([type, appId]) => ({ publicPrefix: `${FHIR_BASE}/${type}`, appId, targetPrefix: `/fhir/${type}` })),
  // Each service's operations routes (its `/ops/…` in ENDPOINTS) at `/api/ops/<app-id>`.
  ...Object.entries(ENDPOINTS)
    .filter(([, routes]) => Object.keys(routes).some((route) => route.split(' ')[1]!.startsWith('/ops/')))
    .map(([appId]) => ({ publicPrefix: `/api/ops/${appId}`, appId, targetPrefix: '/ops' })),
];

export type Resolved = { appId: string; path: string };

/**
 * Dot segments and encoded separators could climb out of /v1.0/invoke/<app>/method
 * once the sidecar cleans the path (to /v1.0/secrets, /v1.0/publish…): such paths match no route.
 */
const UNSAFE_PATH = /(^|\/)\.{1,2}(\/|$)|%2e|%2f|%5c|\\/i;

/**
 * Why a request target (path and query, as received) cannot be forwarded, or
 * undefined when it can. In the path: control characters and `#` (raw or
 * percent-encoded) and malformed percent-encoding mean nothing to any service;
 * an encoded `%` or `?` the sidecar decodes, and the path it forwards is then
 * another one (or none: a 502). A raw `#` has no place in a request target (RFC 9112).
 */
export function requestTargetProblem(target: string): string | undefined {
  if (target.includes('#')) return 'The request target contains "#"';
  const path = target.split('?', 1)[0]!;
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return 'The path has malformed percent-encoding (or encodes no UTF-8 text)';
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(decoded)) return 'The path contains a control character';
  if (/[#?%]/.test(decoded)) return 'The path contains an encoded "#", "?" or "%"';
  return undefined;
}

/** The target of a public path (query string excluded), or undefined when no route matches. */
export function resolveRoute(publicPath: string, routes: readonly GatewayRoute[] = ROUTES): Resolved | undefined {
  if (UNSAFE_PATH.test(publicPath)) return undefined;
  for (const route of routes) {
    if (publicPath === route.publicPrefix || publicPath.startsWith(`${route.publicPrefix}/`)) {
      const rest = publicPath.slice(route.publicPrefix.length);
      return { appId: route.appId, path: `${route.targetPrefix}${rest}` || '/' };
    }
  }
  return undefined;
}

/** The public path of a service path, for the merged OpenAPI document. */
export function publicPathOf(appId: string, servicePath: string, routes: readonly GatewayRoute[] = ROUTES): string | undefined {
  // The most specific route wins: billing's `/ops` routes are `/api/ops/billing-service/…`, not `/api/billing/ops/…`.
  const route = routes
    .filter((r) => r.appId === appId)
    .filter((r) => r.targetPrefix === '' || servicePath === r.targetPrefix || servicePath.startsWith(`${r.targetPrefix}/`))
    .sort((a, b) => b.targetPrefix.length - a.targetPrefix.length)[0];
  return route ? `${route.publicPrefix}${servicePath.slice(route.targetPrefix.length)}` : undefined;
}
