import {
  ACCESS_MATRIX,
  ACTIONS,
  ENDPOINTS,
  PEER_SERVICES,
  PUBLIC,
  USER_ROLES,
  isPermission,
  isServiceOnly,
  type EndpointAccess,
  type Matrix,
  type Permission,
} from './model.js';
import { mayAttempt } from './check.js';
import { TOKEN_SIGNER } from './tokens.js';

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

/** A route a client may call through the gateway: public, or open to some role. */
const isClientAccess = (access: EndpointAccess) => access === PUBLIC || isPermission(access);

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
      const { method, path } = splitKey(key);
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

const GRANT_TEXT = { any: 'all', own: 'own', care: 'care team' } as const;

/** The matrix as the Markdown table docs/access-control.md shows (a unit test keeps that copy equal). */
export function accessMatrixMarkdown(matrix: Matrix = ACCESS_MATRIX): string {
  const principals = [...USER_ROLES, ...PEER_SERVICES] as const;
  const lines = [`| Resource | Action | ${principals.join(' | ')} |`, `| --- | --- | ${principals.map(() => '---').join(' | ')} |`];
  for (const [resource, actions] of Object.entries(ACTIONS)) {
    for (const action of actions) {
      const cell = (matrix as Record<string, Record<string, Record<string, keyof typeof GRANT_TEXT>>>)[resource]![action]!;
      lines.push(`| ${resource} | ${action} | ${principals.map((p) => (cell[p] ? GRANT_TEXT[cell[p]] : '—')).join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- Dapr access control lists

/**
 * The SPIFFE trust domain of the sidecars' identities (`spiffe://public/ns/<namespace>/<app-id>`).
 * Self-hosted daprd 1.18 asks Sentry for no trust domain and Sentry's validator then signs
 * Dapr's default, `public`; on Kubernetes Sentry takes it from the app's Configuration. Stated
 * explicitly so both agree and an ACL never silently matches nothing.
 */
export const TRUST_DOMAIN = 'public';
/** The namespace every sidecar's identity carries: the Kubernetes namespace, and NAMESPACE for local/compose daprd. */
export const DAPR_NAMESPACE = 'caregrid';
/** Platform routes of every service that the gateway reads through invocation (the merged API document). */
export const GATEWAY_PLATFORM_ROUTES = ['GET /openapi.json'] as const;

export type AclOperation = { name: string; httpVerb: string[]; action: 'allow' };
export type AclAppPolicy = {
  appId: string;
  defaultAction: 'deny';
  trustDomain: string;
  namespace: string;
  operations: AclOperation[];
};
export type AccessControlSpec = { defaultAction: 'deny'; trustDomain: string; policies: AclAppPolicy[] };

/**
 * Which service routes each app-id may invoke, callee by callee: the gateway
 * every client route (not SIDECAR, not service-only) plus GATEWAY_PLATFORM_ROUTES; a peer
 * service the routes the matrix lets it attempt (not the FHIR ones, which are
 * for clients); a service the service-only routes that name it; every service that
 * serves users the signer's public key set (it verifies their tokens); nobody else anything.
 */
export function invocationGrants(
  matrix: Matrix = ACCESS_MATRIX,
  endpoints: typeof ENDPOINTS = ENDPOINTS,
): Record<string, Record<string, string[]>> {
  const grants: Record<string, Record<string, string[]>> = { gateway: {} };
  for (const [callee, table] of Object.entries(endpoints)) {
    grants.gateway![callee] = [...Object.keys(table).filter((key) => isClientAccess(table[key]!)), ...GATEWAY_PLATFORM_ROUTES];
    for (const peer of PEER_SERVICES) {
      if (peer === callee) continue; // calls to its own app stay inside its sidecar, no ACL applies
      const keys = Object.keys(table).filter((key) => {
        const access = table[key]!;
        // Peers read each other's JSON contracts; the FHIR face is for clients through the gateway.
        return isPermission(access) && !isFhirRoute(key) && mayAttempt({ kind: 'service', appId: peer }, access, matrix);
      });
      if (keys.length > 0) (grants[peer] ??= {})[callee] = keys;
    }
  }
  for (const [callee, table] of Object.entries(endpoints)) {
    for (const [key, access] of Object.entries(table)) {
      if (!isServiceOnly(access)) continue;
      for (const service of access.services) ((grants[service] ??= {})[callee] ??= []).push(key);
    }
  }
  for (const [service, table] of Object.entries(endpoints)) {
    if (service === TOKEN_SIGNER.appId || !Object.values(table).some(isPermission)) continue;
    ((grants[service] ??= {})[TOKEN_SIGNER.appId] ??= []).push(`GET ${TOKEN_SIGNER.keySetPath}`);
  }
  return grants;
}

/**
 * Route trees every service that serves them shares (the FHIR base `/fhir`):
 * below them the next segment (the resource type) is one service's, so they
 * are grouped by both.
 */
export const SHARED_ROUTE_ROOTS = ['fhir'] as const;

const isFhirRoute = (key: string) => splitKey(key).path.startsWith('/fhir/');

/** The group of a service path in the ACL: its first segment, or its first two under a shared root. */
export function aclGroupOf(path: string): string {
  const segments = path.split('/').slice(1);
  return (SHARED_ROUTE_ROOTS as readonly string[]).includes(segments[0]!) && segments.length > 1
    ? `${segments[0]}/${segments[1]}`
    : segments[0]!;
}

/**
 * A caller's routes on one callee as Dapr ACL operations. Dapr matches an
 * operation as a path prefix (an operation also governs the paths below it)
 * and a single `*` only in the last segment, so routes are grouped by their
 * first segment (aclGroupOf): a group of one path is rendered exactly (`:id` → `*`, or
 * `**` in the middle), a group of several becomes `/<segment>/**` with the
 * union of their verbs. A trailing `*` also matches the bare collection
 * (`/patients/*` admits `GET /patients`). The service's own access checks then
 * decide per route and per record; the ACL keeps every app-id to the paths and
 * verbs it may ever call, and everyone else out.
 */
export function aclOperations(routeKeys: readonly string[]): AclOperation[] {
  const groups = new Map<string, { paths: Set<string>; verbs: Set<string> }>();
  for (const key of routeKeys) {
    const { method, path } = splitKey(key);
    const segments = path.split('/').slice(1);
    const daprPath = `/${segments.map((s, i) => (s.startsWith(':') ? (i === segments.length - 1 ? '*' : '**') : s)).join('/')}`;
    const root = aclGroupOf(path);
    const group = groups.get(root) ?? { paths: new Set(), verbs: new Set() };
    group.paths.add(daprPath);
    group.verbs.add(method);
    groups.set(root, group);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([segment, { paths, verbs }]) => ({
      name: paths.size === 1 ? [...paths][0]! : `/${segment}/**`,
      httpVerb: [...verbs].sort(),
      action: 'allow' as const,
    }));
}

/**
 * The `accessControl` of the Configuration all services share. An ACL is read
 * by the callee's sidecar; one list is right for every callee because the
 * services' routes start with different first segments (a unit test checks),
 * so a caller's operations for one service match nothing on another.
 */
export function sidecarAccessControl(matrix: Matrix = ACCESS_MATRIX, endpoints: typeof ENDPOINTS = ENDPOINTS): AccessControlSpec {
  const grants = invocationGrants(matrix, endpoints);
  return {
    defaultAction: 'deny',
    trustDomain: TRUST_DOMAIN,
    policies: Object.entries(grants).map(([appId, byCallee]) => ({
      appId,
      defaultAction: 'deny',
      trustDomain: TRUST_DOMAIN,
      namespace: DAPR_NAMESPACE,
      operations: aclOperations(Object.values(byCallee).flat()),
    })),
  };
}
