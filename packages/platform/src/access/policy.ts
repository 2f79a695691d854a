import {
  ACCESS_MATRIX,
  ACTIONS,
  ENDPOINTS,
  PUBLIC,
  SIDECAR,
  USER_ROLES,
  type EndpointAccess,
  type Matrix,
  type Permission,
} from './model.js';
import { mayAttempt } from './check.js';

/** An Express path (`/patients/:id`) as an anchored RE2/JS regex over the service path. */
export function pathPattern(expressPath: string): string {
  const escaped = expressPath
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return `^${escaped}$`;
}

export type GatewayRoute = { app: string; methods: string[]; path: string; roles: string[] };

const isPermission = (access: EndpointAccess): access is Permission => typeof access === 'object';

/** The roles that may attempt a route: the gateway lets them through, the service decides per record. */
export function rolesFor(permission: Permission, matrix: Matrix = ACCESS_MATRIX): string[] {
  return USER_ROLES.filter((role) => mayAttempt({ kind: 'user', userId: 'role-probe', roles: [role] }, permission, matrix));
}

function splitKey(key: string): { method: string; path: string } {
  const [method, path] = key.split(' ');
  return { method: method!, path: path! };
}

/**
 * The gateway policy's tables, derived from the access model: routes a role
 * may call (with the roles), and routes anyone may call. Sidecar-only routes
 * (event deliveries, binding triggers) are in neither: no client reaches them.
 */
export function gatewayPolicyTables(
  matrix: Matrix = ACCESS_MATRIX,
  endpoints: typeof ENDPOINTS = ENDPOINTS,
): { routes: GatewayRoute[]; publicRoutes: { app: string; methods: string[]; path: string }[] } {
  const routes: GatewayRoute[] = [];
  const publicRoutes: { app: string; methods: string[]; path: string }[] = [];
  for (const [app, table] of Object.entries(endpoints)) {
    for (const [key, access] of Object.entries(table)) {
      const { method, path } = splitKey(key);
      if (access === PUBLIC) publicRoutes.push({ app, methods: [method], path: pathPattern(path) });
      else if (access !== SIDECAR && isPermission(access)) {
        const roles = rolesFor(access, matrix);
        if (roles.length > 0) routes.push({ app, methods: [method], path: pathPattern(path), roles });
      }
    }
  }
  return { routes, publicRoutes };
}

/** Whether a service route is one a client may call through the gateway (for the merged OpenAPI document). */
export function isClientRoute(app: string, method: string, expressPath: string, endpoints: typeof ENDPOINTS = ENDPOINTS): boolean {
  const access = endpoints[app]?.[`${method.toUpperCase()} ${expressPath}`];
  return access !== undefined && access !== SIDECAR;
}

const GRANT_TEXT = { any: 'all', own: 'own', care: 'care team' } as const;

/** The matrix as the Markdown table the README shows (a unit test keeps the README's copy equal). */
export function accessMatrixMarkdown(matrix: Matrix = ACCESS_MATRIX): string {
  const principals = [...USER_ROLES, 'appointment-service'] as const;
  const lines = [`| Resource | Action | ${principals.join(' | ')} |`, `| --- | --- | ${principals.map(() => '---').join(' | ')} |`];
  for (const [resource, actions] of Object.entries(ACTIONS)) {
    for (const action of actions) {
      const cell = (matrix as Record<string, Record<string, Record<string, keyof typeof GRANT_TEXT>>>)[resource]![action]!;
      lines.push(`| ${resource} | ${action} | ${principals.map((p) => (cell[p] ? GRANT_TEXT[cell[p]] : '—')).join(' | ')} |`);
    }
  }
  return lines.join('\n');
}
