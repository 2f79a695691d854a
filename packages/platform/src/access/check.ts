import { ROLES, type Role } from '@caregrid/contracts';
import { noteDecision } from '../audit/trail.js';
import { ForbiddenError, NotFoundError } from '../errors.js';
import type { TokenClaims } from './tokens.js';
import {
  ACCESS_MATRIX,
  PEER_SERVICES,
  SELF_SERVICE_FIELDS,
  type Action,
  type Grant,
  type Matrix,
  type Permission,
  type Principal,
  type Resource,
  type SelfServiceResource,
} from './model.js';

/** The public entry: the only app whose calls may carry a user's identity. */
export const GATEWAY_APP_ID = 'gateway';

/**
 * Who is calling, as far as the service can trust it:
 * - `user`: a signed-in user, by the claims of the bearer token the gateway
 *   forwards, verified by this service (a token is believed only from the gateway);
 * - `service`: a peer calling on its own behalf, by its app-id;
 * - `sidecar`: the service's own sidecar delivering an event or a binding trigger;
 * - `anonymous`: nobody known (public routes only).
 */
export type Caller =
  | {
      kind: 'user';
      userId: string;
      roles: Role[];
      patientId?: string;
      doctorId?: string;
      /** false: a self-registered account that has not confirmed its email address yet (NEEDS_VERIFIED_EMAIL). */
      emailVerified?: boolean;
    }
  | { kind: 'service'; appId: string }
  | { kind: 'sidecar' }
  | { kind: 'anonymous' };

/** Record facts the model decides on: whose record it is. */
export type RecordFacts = {
  patientId?: string | null;
  doctorId?: string | null;
  userId?: string | null;
  /** Doctors who have (or had) an appointment with this patient that was not cancelled. */
  careTeam?: readonly string[];
};

const header = (req: { header: (name: string) => string | undefined }, name: string) => req.header(name)?.trim() || undefined;

/**
 * The caller of a request. daprd sets `dapr-caller-app-id` on every service
 * invocation (overwriting whatever the caller sent); a request without it did
 * not come through invocation, i.e. from the app's own sidecar (the app API
 * token keeps everyone else out). A user is known only by `token`: the verified
 * claims of the bearer token a call from the gateway carries (identity headers
 * count for nothing, whoever sent them).
 */
export function callerOf(req: { header: (name: string) => string | undefined }, token?: TokenClaims): Caller {
  const via = header(req, 'dapr-caller-app-id');
  if (!via) return { kind: 'sidecar' };
  if (via !== GATEWAY_APP_ID) return { kind: 'service', appId: via };
  if (!token) return { kind: 'anonymous' };
  return {
    kind: 'user',
    userId: token.sub,
    roles: ROLES.filter((role) => token.roles.includes(role)),
    ...(token.patientId ? { patientId: token.patientId } : {}),
    ...(token.doctorId ? { doctorId: token.doctorId } : {}),
    // Unconfirmed only when the token says so: one signed before the claim existed is a confirmed account's.
    ...(token.emailVerified === false ? { emailVerified: false } : {}),
  };
}

const isPeer = (appId: string): appId is (typeof PEER_SERVICES)[number] => (PEER_SERVICES as readonly string[]).includes(appId);

function principalsOf(caller: Caller): Principal[] {
  if (caller.kind === 'user') return caller.roles;
  if (caller.kind === 'service' && isPeer(caller.appId)) return [caller.appId];
  return [];
}

/** The grants a caller holds for an action, one per principal (role) that has one. */
function grantsOf(caller: Caller, resource: Resource, action: Action, matrix: Matrix): { principal: Principal; grant: Grant }[] {
  const cell = (matrix[resource] as Record<string, Partial<Record<Principal, Grant>>>)[action] ?? {};
  return principalsOf(caller).flatMap((principal) => {
    const grant = cell[principal];
    return grant ? [{ principal, grant }] : [];
  });
}

/** The kinds of link a scope names records by (see Scope). */
export type ScopeLink = 'patientId' | 'doctorId' | 'userId' | 'careTeamOf';
export const SCOPE_LINKS: readonly ScopeLink[] = ['patientId', 'doctorId', 'userId', 'careTeamOf'];

/**
 * The link by which a grant covers records, for a principal: for `own`, anyone's own account,
 * a patient's records through their patient link, a doctor's through their doctor link; for
 * `care`, a doctor's care team. None for `any`, nor for a principal that holds no such link.
 */
function linkKind(principal: Principal, grant: Grant, resource: Resource): ScopeLink | undefined {
  if (grant === 'care') return principal === 'doctor' ? 'careTeamOf' : undefined;
  if (grant !== 'own') return undefined;
  if (resource === 'account') return 'userId';
  if (principal === 'patient') return 'patientId';
  if (principal === 'doctor') return 'doctorId';
  return undefined;
}

/** The caller's link for a grant (a caller without the link, e.g. an unlinked patient account, has none). */
function linkOf(caller: Caller, principal: Principal, grant: Grant, resource: Resource): Scope['anyOf'][number] | undefined {
  if (caller.kind !== 'user') return undefined;
  const kind = linkKind(principal, grant, resource);
  const id = kind === 'userId' ? caller.userId : kind === 'patientId' ? caller.patientId : kind ? caller.doctorId : undefined;
  return kind && id ? ({ [kind]: id } as Scope['anyOf'][number]) : undefined;
}

/**
 * Every kind of link `narrow` can put into a scope of this resource, over all its actions: what
 * a store of its records must be able to filter by (scopeClause's declaration checks it at start).
 */
export function scopeLinks(resource: Resource, matrix: Matrix = ACCESS_MATRIX): ScopeLink[] {
  const cells = Object.values(matrix[resource] as Record<string, Partial<Record<Principal, Grant>>>);
  const kinds = new Set(
    cells.flatMap((cell) => Object.entries(cell).map(([principal, grant]) => linkKind(principal as Principal, grant!, resource))),
  );
  return SCOPE_LINKS.filter((kind) => kinds.has(kind));
}

function covers(caller: Caller, principal: Principal, grant: Grant, resource: Resource, facts: RecordFacts): boolean {
  if (grant === 'any') return true;
  const link = linkOf(caller, principal, grant, resource);
  if (!link) return false;
  if ('careTeamOf' in link) return !!facts.careTeam?.includes(link.careTeamOf);
  return (
    ('userId' in link && facts.userId === link.userId) ||
    ('patientId' in link && facts.patientId === link.patientId) ||
    ('doctorId' in link && facts.doctorId === link.doctorId)
  );
}

/** May this caller attempt the route at all (some principal of theirs holds some grant for one of its actions)? */
export function mayAttempt(caller: Caller, permission: Permission, matrix: Matrix = ACCESS_MATRIX): boolean {
  return permission.actions.some((action) => grantsOf(caller, permission.resource, action, matrix).length > 0);
}

/** May this caller do this action to this record? */
export function may(caller: Caller, resource: Resource, action: Action, facts: RecordFacts, matrix: Matrix = ACCESS_MATRIX): boolean {
  return grantsOf(caller, resource, action, matrix).some(({ principal, grant }) => covers(caller, principal, grant, resource, facts));
}

const patientOf = (resource: Resource, record: RecordFacts & { id: string }) =>
  record.patientId ?? (resource === 'patient' ? record.id : undefined);

/**
 * Throws unless the caller may do `action` to the record. A record the caller
 * may not even read answers like an absent one (its existence is not theirs
 * to know); one they may read but not change answers 403.
 */
export function authorize(
  caller: Caller,
  resource: Resource,
  action: Action,
  record: RecordFacts & { id: string },
  matrix: Matrix = ACCESS_MATRIX,
): void {
  // The decision is what the audit trail records, with the patient whose data it concerns.
  const allowed = may(caller, resource, action, record, matrix);
  noteDecision(patientOf(resource, record), allowed);
  if (allowed) return;
  if (action !== 'read' && may(caller, resource, 'read' as Action, record, matrix)) {
    throw new ForbiddenError(`You may not ${action} this ${resource}`);
  }
  throw new NotFoundError(resource, record.id);
}

/** The action that creates a record, for each resource whose records a service creates on a caller's request. */
export const CREATE_ACTIONS = { patient: 'create', doctor: 'create', appointment: 'book', account: 'create' } as const satisfies {
  [R in Resource]?: Action<R>;
};
export type CreatableResource = keyof typeof CREATE_ACTIONS;

/**
 * Throws 403 unless the caller may create this record (a booking, a registration), decided on
 * the facts of the record to be (whose it will be: a booking's patient). Nothing exists yet to
 * hide, so a refusal is never a 404. `refusal`: the problem's detail, when a route words it.
 */
export function authorizeNew(
  caller: Caller,
  resource: CreatableResource,
  facts: RecordFacts,
  options: { refusal?: string; matrix?: Matrix } = {},
): void {
  const action = CREATE_ACTIONS[resource];
  const allowed = may(caller, resource, action, facts, options.matrix);
  noteDecision(facts.patientId, allowed);
  if (!allowed) throw new ForbiddenError(options.refusal ?? `You may not ${action} this ${resource}`);
}

/**
 * The first of `actions` (widest first) the caller may do to the record, for a
 * route whose answer depends on it (e.g. a whole-record edit by staff or a
 * narrow one by the owner); throws as `authorize` does for the last when none.
 */
export function widestPermitted<A extends Action>(
  caller: Caller,
  resource: Resource,
  actions: readonly [A, ...A[]],
  record: RecordFacts & { id: string },
): A {
  const permitted = actions.find((action) => may(caller, resource, action, record));
  if (permitted) {
    noteDecision(patientOf(resource, record), true);
    return permitted;
  }
  authorize(caller, resource, actions[actions.length - 1]!, record);
  throw new Error('unreachable: authorize refuses what may() refused');
}

/**
 * The members of a patch outside the self-service fields, as dotted paths: at each level the
 * members named nowhere first, then those inside an object member that is partly the owner's
 * (a non-object there is refused whole: `details: null` would drop allergies too).
 */
function refusedMembers(patch: Record<string, unknown>, fields: readonly string[], prefix = ''): string[] {
  const paths = Object.keys(patch).map((member) => ({ member, path: `${prefix}${member}` }));
  const partly = ({ path }: { path: string }) => fields.some((field) => field.startsWith(`${path}.`));
  const direct = paths.filter((entry) => !fields.includes(entry.path) && !partly(entry)).map(({ path }) => path);
  const nested = paths.filter(partly).flatMap(({ member, path }) => {
    const value = patch[member];
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [path];
    return refusedMembers(value as Record<string, unknown>, fields, `${path}.`);
  });
  return [...direct, ...nested];
}

/**
 * Throws 403 (with `allowedFields` and `refusedFields`) when a patch by the record's owner reaches
 * beyond SELF_SERVICE_FIELDS. `besides`: top-level members that are no field of the record (a
 * version for optimistic locking).
 */
export function checkSelfServicePatch(
  resource: SelfServiceResource,
  patch: Record<string, unknown>,
  options: { besides?: readonly string[] } = {},
): void {
  const { fields, refusal } = SELF_SERVICE_FIELDS[resource];
  const besides = new Set(options.besides ?? []);
  const refused = refusedMembers(Object.fromEntries(Object.entries(patch).filter(([member]) => !besides.has(member))), fields);
  if (refused.length > 0) {
    throw new ForbiddenError(refusal.replace('{fields}', fields.join(', ')), { allowedFields: [...fields], refusedFields: refused });
  }
}

/**
 * What a list may show a caller: everything, or the records matching any of
 * these links (none at all when the list is empty — e.g. a patient account
 * not yet linked to a patient record).
 */
export type Scope = {
  all: boolean;
  anyOf: ({ patientId: string } | { doctorId: string } | { userId: string } | { careTeamOf: string })[];
};

export function narrow(caller: Caller, resource: Resource, action: Action = 'list', matrix: Matrix = ACCESS_MATRIX): Scope {
  const anyOf: Scope['anyOf'] = [];
  for (const { principal, grant } of grantsOf(caller, resource, action, matrix)) {
    if (grant === 'any') return { all: true, anyOf: [] };
    const link = linkOf(caller, principal, grant, resource);
    if (link) anyOf.push(link);
  }
  return { all: false, anyOf };
}

/** The ids of one kind of link in a scope, for SQL such as `patient_id = ANY($1)`. */
export function scopeIds(scope: Scope, link: ScopeLink): string[] {
  return scope.anyOf.flatMap((entry) => (link in entry ? [(entry as Record<string, string>)[link]!] : []));
}

/** Nothing visible at all: the list answers empty without a query. */
export const seesNothing = (scope: Scope) => !scope.all && scope.anyOf.length === 0;
