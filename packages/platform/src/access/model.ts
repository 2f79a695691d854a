import { ROLES, type Role } from '@caregrid/contracts';

/**
 * CareGrid's access model, written once: who (a role, or a peer service by its
 * app-id) may do which action to which resource, and to which records. The
 * gateway policy's role table and every service's record checks are derived
 * from these two tables (see gateway-policy.ts, dapr-acl.ts and check.ts), so they cannot drift.
 */

/**
 * Which records a grant covers:
 * - `any`: every record;
 * - `own`: records linked to the caller's account — a patient's own patient
 *   record, appointments and invoices; a doctor's own profile, appointments
 *   and invoices; anyone's own account;
 * - `care`: (doctors) patients who have or had an appointment with them that was not cancelled.
 */
export type Grant = 'any' | 'own' | 'care';

/** Peer services that act on their own behalf (service invocation carries their app-id). */
export const PEER_SERVICES = ['appointment-service', 'patient-service', 'notification-service'] as const;
export type PeerService = (typeof PEER_SERVICES)[number];
export type Principal = Role | PeerService;

export const ACTIONS = {
  patient: ['create', 'list', 'read', 'update', 'update-contact', 'delete'],
  // `read-private`: a doctor's email, phone and licence number, beyond the public profile `read` and `list` show.
  doctor: ['create', 'list', 'read', 'read-private', 'update', 'update-schedule', 'delete'],
  appointment: ['book', 'list', 'read', 'cancel', 'reschedule', 'progress', 'pay', 'archive'],
  invoice: ['list', 'read', 'cancel'],
  // Mail about appointments: its ledger (`list`), a patient's reminder preference, sending a failed one again.
  notification: ['list', 'set-preference', 'resend'],
  account: ['read', 'create', 'update'],
  report: ['read'],
  // Parked outbox rows and dead letters of a service: look, and send again.
  operations: ['read', 'redrive'],
  // The trail of access to patient data: whole entries (`read`), or a patient's own access log.
  audit: ['read', 'read-access-log'],
} as const;

export type Resource = keyof typeof ACTIONS;
export type Action<R extends Resource = Resource> = (typeof ACTIONS)[R][number];
export type Matrix = { [R in Resource]: { [A in Action<R>]: Partial<Record<Principal, Grant>> } };

const staff = { admin: 'any', receptionist: 'any' } as const;
const everyone = { admin: 'any', receptionist: 'any', doctor: 'any', patient: 'any' } as const;

export const ACCESS_MATRIX: Matrix = {
  patient: {
    create: { ...staff },
    list: { ...staff, doctor: 'care' },
    // notification-service reads the recipient's address when it sends (it stores ids only).
    read: { ...staff, doctor: 'care', patient: 'own', 'appointment-service': 'any', 'notification-service': 'any' },
    // The whole record: identity, email, insurance, the account link.
    update: { ...staff },
    // What patients keep up to date themselves: how to reach them (the fields: SELF_SERVICE_FIELDS).
    'update-contact': { patient: 'own' },
    delete: { admin: 'any' },
  },
  doctor: {
    create: { admin: 'any' },
    list: { ...everyone },
    // The public profile (who, what, where, when, the tariff): enough to choose a doctor and book.
    read: { ...everyone, 'appointment-service': 'any' },
    // Email, phone, licence number: staff, and the doctor themself. Searching by email needs it for all.
    'read-private': { ...staff, doctor: 'own' },
    // Licence, specialization, tariff, email: staff-managed.
    update: { admin: 'any' },
    // What doctors manage themselves: contact and availability (the fields: SELF_SERVICE_FIELDS).
    'update-schedule': { doctor: 'own' },
    delete: { admin: 'any' },
  },
  appointment: {
    book: { ...staff, patient: 'own' },
    list: { ...staff, doctor: 'own', patient: 'own' },
    // notification-service re-reads an appointment when its reminder fires and when it writes a mail.
    read: { ...staff, doctor: 'own', patient: 'own', 'notification-service': 'any' },
    cancel: { ...staff, doctor: 'own', patient: 'own' },
    // Move to another time: whoever may cancel it (the alternative would be cancelling and booking again).
    reschedule: { ...staff, doctor: 'own', patient: 'own' },
    // check in, fulfil, no-show
    progress: { ...staff, doctor: 'own' },
    pay: { ...staff },
    archive: { admin: 'any' },
  },
  invoice: {
    list: { ...staff, doctor: 'own', patient: 'own' },
    read: { ...staff, doctor: 'own', patient: 'own' },
    cancel: { ...staff },
  },
  notification: {
    list: { ...staff, doctor: 'own', patient: 'own' },
    // Reminders on or off: a patient for their own record, staff for anyone's.
    'set-preference': { ...staff, patient: 'own' },
    resend: { admin: 'any' },
  },
  account: {
    read: { admin: 'own', receptionist: 'own', doctor: 'own', patient: 'own' },
    create: { admin: 'any' },
    update: { admin: 'any' },
  },
  report: {
    read: { admin: 'any' },
  },
  operations: {
    read: { admin: 'any' },
    redrive: { admin: 'any' },
  },
  audit: {
    // patient-service reads a patient's entries to answer their access log.
    read: { admin: 'any', 'patient-service': 'any' },
    'read-access-log': { admin: 'any', patient: 'own' },
  },
};

/**
 * What an owner may change on their own record, with the narrow action that lets them (the wider
 * one, staff's, changes any field): merge-patch members, `a.b` naming member `b` of object member
 * `a` (and no more of `a`). Identity, the account link, medical and insurance data, licence,
 * specialization and tariff stay with staff. `refusal` words the 403, `{fields}` the list.
 */
export const SELF_SERVICE_FIELDS = {
  patient: {
    action: 'update-contact',
    fields: ['phone', 'address', 'details.emergencyContact'],
    refusal: 'a patient may change only {fields} of their own record; the rest is for staff',
  },
  doctor: {
    action: 'update-schedule',
    fields: ['phone', 'workingHours', 'accepting'],
    refusal: 'a doctor may change only {fields} of their own profile; the rest is staff-managed',
  },
} as const satisfies { [R in Resource]?: { action: Action<R>; fields: readonly string[]; refusal: string } };
export type SelfServiceResource = keyof typeof SELF_SERVICE_FIELDS;

/** A route's permission: any one of `actions` on `resource` lets a caller in; the handler picks the exact one. */
export type Permission = { resource: Resource; actions: readonly Action[] };
/** Anyone, signed in or not (sign-up, sign-in, keys). */
export const PUBLIC = 'public' as const;
/** Only the service's own sidecar delivering events or binding triggers — never an invocation. */
export const SIDECAR = 'sidecar' as const;
/**
 * Only these services, invoking on their own behalf (daprd names them from their mTLS identity):
 * never the gateway, so no client. For what one service asks of another to do its job and no
 * user may ask (the mailer fetching an account mail's recipient and link).
 */
export type ServiceOnly = { services: readonly string[] };
export type EndpointAccess = Permission | typeof PUBLIC | typeof SIDECAR | ServiceOnly;

const can = <R extends Resource>(resource: R, ...actions: Action<R>[]): Permission => ({ resource, actions });
const servicesOnly = (...services: string[]): ServiceOnly => ({ services });

export const isPermission = (access: EndpointAccess): access is Permission => typeof access === 'object' && 'resource' in access;
export const isServiceOnly = (access: EndpointAccess): access is ServiceOnly => typeof access === 'object' && 'services' in access;
/** A route a client may call through the gateway: public, or open to some role. */
export const isClientAccess = (access: EndpointAccess) => access === PUBLIC || isPermission(access);

/** An ENDPOINTS key (`METHOD /express/path`) as its method and path. */
export function splitRouteKey(key: string): { method: string; path: string } {
  const [method, path] = key.split(' ');
  return { method: method!, path: path! };
}

/**
 * What an account may do only once its email address is confirmed: a self-registered account
 * starts unconfirmed (its access token says so, `emailVerified: false`); accounts staff create,
 * and those from before confirmation existed, count as confirmed.
 */
export const NEEDS_VERIFIED_EMAIL: { [R in Resource]?: readonly Action<R>[] } = { appointment: ['book'] };

/** The operations routes of a service with an outbox (createServiceApp adds them): its backlog, its parked events. */
const OUTBOX_OPS = {
  'GET /ops/backlog': can('operations', 'read'),
  'GET /ops/outbox': can('operations', 'read'),
  'POST /ops/outbox/:id/redrive': can('operations', 'redrive'),
};

/** The dead-letter routes of a subscriber: the drain of its dead-letter topics, its parked letters and their re-drive. */
const DEAD_LETTER_OPS = {
  'GET /ops/backlog': can('operations', 'read'),
  'POST /events/dead-letter': SIDECAR,
  'GET /ops/dead-letters': can('operations', 'read'),
  'POST /ops/dead-letters/redrive': can('operations', 'redrive'),
  'POST /ops/dead-letters/:id/redrive': can('operations', 'redrive'),
};

/**
 * Every route of every service (`METHOD /express/path`, as the service
 * declares it) and who may call it. A service route missing here fails at
 * start; the gateway's policy admits exactly these routes.
 */
export const ENDPOINTS: Record<string, Record<string, EndpointAccess>> = {
  'auth-service': {
    'POST /auth/register': PUBLIC,
    'POST /auth/login': PUBLIC,
    'POST /auth/refresh': PUBLIC,
    'POST /auth/logout': PUBLIC,
    // Account mail: each carries its own credential, the mailed token.
    'POST /auth/verify-email': PUBLIC,
    'POST /auth/password-reset': PUBLIC,
    'POST /auth/password-reset/confirm': PUBLIC,
    'POST /auth/invitations/accept': PUBLIC,
    // Carries its own credential, the current password.
    'POST /auth/password': PUBLIC,
    'GET /.well-known/jwks.json': PUBLIC,
    'GET /auth/me': can('account', 'read'),
    // Whoever sees their own account may ask for its confirmation mail again.
    'POST /auth/verify-email/resend': can('account', 'read'),
    // The mailer asks for an account mail's recipient and a freshly minted link when it sends it.
    'POST /accounts/mail-requests/:id/link': servicesOnly('notification-service'),
    'POST /auth/users': can('account', 'create'),
    'PATCH /auth/users/:id': can('account', 'update'),
    ...OUTBOX_OPS,
  },
  'patient-service': {
    'POST /patients': can('patient', 'create'),
    'GET /patients': can('patient', 'list'),
    'GET /patients/:id': can('patient', 'read'),
    'PUT /patients/:id': can('patient', 'update'),
    'PATCH /patients/:id': can('patient', 'update', 'update-contact'),
    'DELETE /patients/:id': can('patient', 'delete'),
    'GET /patients/:id/access-log': can('audit', 'read-access-log'),
    // FHIR: the same permissions; a search answers only what the caller may read (a patient: their own).
    'GET /fhir/Patient': can('patient', 'list', 'read'),
    'GET /fhir/Patient/:id': can('patient', 'read'),
    'POST /fhir/Patient': can('patient', 'create'),
    'PUT /fhir/Patient/:id': can('patient', 'update'),
    'PATCH /fhir/Patient/:id': can('patient', 'update', 'update-contact'),
    'POST /events/appointment-booked': SIDECAR,
    'POST /events/appointment-cancelled': SIDECAR,
    'POST /events/ignored': SIDECAR,
    ...OUTBOX_OPS,
    ...DEAD_LETTER_OPS,
  },
  'doctor-service': {
    'POST /doctors': can('doctor', 'create'),
    'GET /doctors': can('doctor', 'list'),
    'GET /doctors/:id': can('doctor', 'read'),
    'PUT /doctors/:id': can('doctor', 'update'),
    'PATCH /doctors/:id': can('doctor', 'update', 'update-schedule'),
    'DELETE /doctors/:id': can('doctor', 'delete'),
    'GET /fhir/Practitioner': can('doctor', 'list'),
    'GET /fhir/Practitioner/:id': can('doctor', 'read'),
    'GET /fhir/PractitionerRole': can('doctor', 'list'),
    'GET /fhir/PractitionerRole/:id': can('doctor', 'read'),
    ...OUTBOX_OPS,
  },
  'appointment-service': {
    'POST /appointments': can('appointment', 'book'),
    'GET /appointments': can('appointment', 'list'),
    // Free slots are the doctor's public schedule: whoever may read the doctor.
    'GET /appointments/slots': can('doctor', 'read'),
    'POST /appointments/cleanup': can('appointment', 'archive'),
    'GET /appointments/:id': can('appointment', 'read'),
    'POST /appointments/:id/status': can('appointment', 'cancel', 'progress'),
    'POST /appointments/:id/reschedule': can('appointment', 'reschedule'),
    'POST /appointments/:id/payment': can('appointment', 'pay'),
    'GET /fhir/Appointment': can('appointment', 'list'),
    'GET /fhir/Appointment/:id': can('appointment', 'read'),
    'POST /fhir/Appointment': can('appointment', 'book'),
    'PUT /fhir/Appointment/:id': can('appointment', 'cancel', 'progress'),
    'PATCH /fhir/Appointment/:id': can('appointment', 'cancel', 'progress'),
    'GET /fhir/Slot': can('doctor', 'read'),
    'GET /fhir/Slot/:id': can('doctor', 'read'),
    // A practitioner's schedule is as public as their free slots.
    'GET /fhir/Schedule': can('doctor', 'read'),
    'GET /fhir/Schedule/:id': can('doctor', 'read'),
    'POST /appointment-cleanup': SIDECAR,
    ...OUTBOX_OPS,
  },
  'billing-service': {
    'GET /invoices': can('invoice', 'list'),
    'GET /invoices/:id': can('invoice', 'read'),
    'GET /invoices/:id/pdf': can('invoice', 'read'),
    'GET /fhir/Invoice': can('invoice', 'list'),
    'GET /fhir/Invoice/:id': can('invoice', 'read'),
    'POST /invoices/:id/cancel': can('invoice', 'cancel'),
    'POST /events/appointment-paid': SIDECAR,
    'POST /events/ignored': SIDECAR,
    ...OUTBOX_OPS,
    ...DEAD_LETTER_OPS,
  },
  'notification-service': {
    'GET /notifications': can('notification', 'list'),
    // Whoever may set the preference may see it.
    'GET /notifications/preferences': can('notification', 'set-preference'),
    'PUT /notifications/preferences': can('notification', 'set-preference'),
    'POST /notifications/:id/resend': can('notification', 'resend'),
    // FHIR: the ledger's list grant, record by record (a patient: mail about their own appointments).
    'GET /fhir/CommunicationRequest': can('notification', 'list'),
    'GET /fhir/CommunicationRequest/:id': can('notification', 'list'),
    'GET /fhir/Communication': can('notification', 'list'),
    'GET /fhir/Communication/:id': can('notification', 'list'),
    'POST /events/appointment-booked': SIDECAR,
    'POST /events/appointment-rescheduled': SIDECAR,
    'POST /events/appointment-cancelled': SIDECAR,
    'POST /events/appointment-paid': SIDECAR,
    'POST /events/account-mail-requested': SIDECAR,
    'POST /events/ignored': SIDECAR,
    // A reminder job firing (Dapr Jobs: POST /job/<name>), and the daily sweep for jobs gone missing (cron binding).
    'POST /job/:name': SIDECAR,
    'POST /reminder-sweep': SIDECAR,
    ...OUTBOX_OPS,
    ...DEAD_LETTER_OPS,
  },
  'analytics-service': {
    'GET /analytics/summary': can('report', 'read'),
    'GET /analytics/appointments/daily': can('report', 'read'),
    'GET /analytics/doctors/top': can('report', 'read'),
    'GET /analytics/specializations': can('report', 'read'),
    'POST /events/record': SIDECAR,
    'GET /audit': can('audit', 'read'),
    'POST /events/audit': SIDECAR,
    'POST /audit-retention': SIDECAR,
    ...DEAD_LETTER_OPS,
  },
};

export const USER_ROLES: readonly Role[] = ROLES;
