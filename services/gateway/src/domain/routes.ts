/**
 * The gateway's route table: public path prefix → app-id and the path the
 * service knows. `/api` is stripped (StripPrefix); billing's routes are
 * rewritten (`/api/billing/invoices` → `/invoices`, RewritePath).
 */
export type GatewayRoute = { publicPrefix: string; appId: string; targetPrefix: string };

export const ROUTES: readonly GatewayRoute[] = [
  { publicPrefix: '/api/auth', appId: 'auth-service', targetPrefix: '/auth' },
  { publicPrefix: '/.well-known/jwks.json', appId: 'auth-service', targetPrefix: '/.well-known/jwks.json' },
  { publicPrefix: '/api/patients', appId: 'patient-service', targetPrefix: '/patients' },
  { publicPrefix: '/api/doctors', appId: 'doctor-service', targetPrefix: '/doctors' },
  { publicPrefix: '/api/appointments', appId: 'appointment-service', targetPrefix: '/appointments' },
  { publicPrefix: '/api/billing', appId: 'billing-service', targetPrefix: '' },
  { publicPrefix: '/api/analytics', appId: 'analytics-service', targetPrefix: '/analytics' },
];

export type Resolved = { appId: string; path: string };

/**
 * Dot segments and encoded separators could climb out of /v1.0/invoke/<app>/method
 * once the sidecar cleans the path (to /v1.0/secrets, /v1.0/publish…): such paths match no route.
 */
const UNSAFE_PATH = /(^|\/)\.{1,2}(\/|$)|%2e|%2f|%5c|\\/i;

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
  for (const route of routes) {
    if (route.appId !== appId) continue;
    if (route.targetPrefix === '' || servicePath === route.targetPrefix || servicePath.startsWith(`${route.targetPrefix}/`)) {
      return `${route.publicPrefix}${servicePath.slice(route.targetPrefix.length)}`;
    }
  }
  return undefined;
}
