import {
  ACCESS_MATRIX,
  ENDPOINTS,
  PUBLIC,
  USER_ROLES,
  isClientAccess,
  isPermission,
  splitRouteKey,
  type Matrix,
  type Permission,
} from './model.js';
import { mayAttempt } from './check.js';

/**
 * The gateway's policy tables (the Rego's route and public-route lookups), rendered from the
 * access model. The sidecars' access control lists are dapr-acl.ts.
 */

/**
 * An Express path (`/patients/:id`) as an anchored RE2/JS regex over the service path. Under
 * `/fhir/` a parameter never starts with `_` or `$`: no FHIR id does, and such a segment names
 * an interaction or an operation (`_history`, `$everything`), offered only where a route names it.
 */
export function pathPattern(expressPath: string): string {
  const parameter = expressPath.startsWith('/fhir/') ? '[^/_$][^/]*' : '[^/]+';
  const escaped = expressPath
    .split('/')
    .map((segment) => (segment.startsWith(':') ? parameter : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return `^${escaped}$`;
}

export type GatewayRoute = { app: string; methods: string[]; path: string; roles: string[] };

/** The roles that may attempt a route: the gateway lets them through, the service decides per record. */
export function rolesFor(permission: Permission, matrix: Matrix = ACCESS_MATRIX): string[] {
  return USER_ROLES.filter((role) => mayAttempt({ kind: 'user', userId: 'role-probe', roles: [role] }, permission, matrix));
}

/**
 * The gateway policy's tables, derived from the access model: routes a role
 * may call (with the roles), and routes anyone may call. Sidecar-only routes
 * (event deliveries, binding triggers) and service-only ones are in neither: no client reaches them.
 */
export function gatewayPolicyTables(
  matrix: Matrix = ACCESS_MATRIX,
  endpoints: typeof ENDPOINTS = ENDPOINTS,
): { routes: GatewayRoute[]; publicRoutes: { app: string; methods: string[]; path: string }[] } {
  const routes: GatewayRoute[] = [];
  const publicRoutes: { app: string; methods: string[]; path: string }[] = [];
  for (const [app, table] of Object.entries(endpoints)) {
    for (const [key, access] of Object.entries(table)) {
      const { method, path } = splitRouteKey(key);
      if (access === PUBLIC) publicRoutes.push({ app, methods: [method], path: pathPattern(path) });
      else if (isPermission(access)) {
        const roles = rolesFor(access, matrix);
        if (roles.length > 0) routes.push({ app, methods: [method], path: pathPattern(path), roles });
      }
    }
  }
  return { routes, publicRoutes };
}

/**
 * The gateway policy's tables as the Rego looks them up: app-id → method → the
 * routes (path pattern, roles as an object) or public path patterns. The policy
 * runs on every request in the gateway sidecar; keyed lookups there replace a
 * scan of every route of every service (and a role list scan per route).
 */
export type GatewayPolicyIndex = {
  routes: Record<string, Record<string, { path: string; roles: Record<string, true> }[]>>;
  publicRoutes: Record<string, Record<string, string[]>>;
};

export function gatewayPolicyIndex(tables: ReturnType<typeof gatewayPolicyTables> = gatewayPolicyTables()): GatewayPolicyIndex {
  const index: GatewayPolicyIndex = { routes: {}, publicRoutes: {} };
  for (const { app, methods, path, roles } of tables.routes) {
    for (const method of methods) {
      ((index.routes[app] ??= {})[method] ??= []).push({ path, roles: Object.fromEntries(roles.map((role) => [role, true])) });
    }
  }
  for (const { app, methods, path } of tables.publicRoutes) {
    for (const method of methods) ((index.publicRoutes[app] ??= {})[method] ??= []).push(path);
  }
  return index;
}

/** Whether a service route is one a client may call through the gateway (for the merged OpenAPI document). */
export function isClientRoute(app: string, method: string, expressPath: string, endpoints: typeof ENDPOINTS = ENDPOINTS): boolean {
  const access = endpoints[app]?.[`${method.toUpperCase()} ${expressPath}`];
  return access !== undefined && isClientAccess(access);
}
