import {
  ACCESS_MATRIX,
  ENDPOINTS,
  PEER_SERVICES,
  isClientAccess,
  isPermission,
  isServiceOnly,
  splitRouteKey,
  type Matrix,
} from './model.js';
import { mayAttempt } from './check.js';
import { TOKEN_SIGNER } from './tokens.js';

/**
 * The Dapr access control lists (the `accessControl` of the services' Configuration), rendered
 * from the access model: which app-id may invoke which routes at all. The gateway's policy
 * tables are gateway-policy.ts.
 */

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

const isFhirRoute = (key: string) => splitRouteKey(key).path.startsWith('/fhir/');

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
    const { method, path } = splitRouteKey(key);
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
