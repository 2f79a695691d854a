import type { Role } from '@caregrid/contracts';
import { ForbiddenError, NotFoundError, UnauthenticatedError } from '../src/errors.js';
import {
  authorize,
  authorizeNew,
  callerOf,
  checkSelfServicePatch,
  may,
  mayAttempt,
  narrow,
  scopeIds,
  seesNothing,
  widestPermitted,
  type Caller,
} from '../src/access/check.js';
import {
  ENDPOINTS,
  PUBLIC,
  SELF_SERVICE_FIELDS,
  SIDECAR,
  type Action,
  type Permission,
  type SelfServiceResource,
} from '../src/access/model.js';
import { isClientRoute } from '../src/access/gateway-policy.js';
import { admit } from '../src/http/routes.js';

const headers = (values: Record<string, string>) => ({ header: (name: string) => values[name.toLowerCase()] });
const user = (roles: Role[], links: { patientId?: string; doctorId?: string } = {}): Caller => ({
  kind: 'user',
  userId: `u-${roles.join('-')}`,
  roles,
  ...links,
});

const patientP = user(['patient'], { patientId: 'p1' });
const doctorD = user(['doctor'], { doctorId: 'd1' });
const receptionist = user(['receptionist']);
const admin = user(['admin']);

describe('who is calling', () => {
  const claims = { sub: 'u1', roles: ['doctor', 'superuser'], doctorId: 'd1' };
  it('a user only by the verified token of a call from the gateway; identity headers count for nothing', () => {
    expect(callerOf(headers({ 'dapr-caller-app-id': 'gateway' }), claims)).toEqual({
      kind: 'user',
      userId: 'u1',
      roles: ['doctor'], // unknown roles are dropped
      doctorId: 'd1',
    });
    const identity = { 'x-caregrid-user-id': 'u1', 'x-caregrid-roles': 'admin', 'x-caregrid-doctor-id': 'd1' };
    expect(callerOf(headers({ 'dapr-caller-app-id': 'gateway', ...identity }))).toEqual({ kind: 'anonymous' });
    // A peer acts as itself, whatever it claims or carries.
    expect(callerOf(headers({ 'dapr-caller-app-id': 'appointment-service', ...identity }), claims)).toEqual({
      kind: 'service',
      appId: 'appointment-service',
    });
  });

  it('a request without an invocation header comes from the own sidecar; the gateway without a user is anonymous', () => {
    expect(callerOf(headers({ 'x-caregrid-user-id': 'u1', 'x-caregrid-roles': 'admin' }), claims)).toEqual({ kind: 'sidecar' });
    expect(callerOf(headers({ 'dapr-caller-app-id': 'gateway' }))).toEqual({ kind: 'anonymous' });
  });
});

describe('the first gate: route admission', () => {
  const read: Permission = { resource: 'patient', actions: ['read'] };
  it('no verified caller is no access', () => {
    expect(() => admit(read, { kind: 'anonymous' })).toThrow(UnauthenticatedError);
    expect(() => admit(read, { kind: 'sidecar' })).toThrow(UnauthenticatedError);
  });
  it('a peer only where the model names it; unknown peers nowhere', () => {
    expect(() => admit(read, { kind: 'service', appId: 'appointment-service' })).not.toThrow();
    expect(() => admit({ resource: 'patient', actions: ['update'] }, { kind: 'service', appId: 'appointment-service' })).toThrow(
      ForbiddenError,
    );
    expect(() => admit(read, { kind: 'service', appId: 'billing-service' })).toThrow(ForbiddenError);
  });
  it('sidecar routes refuse every invocation, public routes refuse nobody', () => {
    expect(() => admit(SIDECAR, { kind: 'sidecar' })).not.toThrow();
    expect(() => admit(SIDECAR, admin)).toThrow(ForbiddenError);
    expect(() => admit(SIDECAR, { kind: 'service', appId: 'appointment-service' })).toThrow(ForbiddenError);
    expect(() => admit(PUBLIC, { kind: 'anonymous' })).not.toThrow();
  });
  it('a service-only route admits the services it names, calling on their own behalf: no user, no other peer, not the own sidecar', () => {
    const link = ENDPOINTS['auth-service']!['POST /accounts/mail-requests/:id/link']!;
    expect(() => admit(link, { kind: 'service', appId: 'notification-service' })).not.toThrow();
    for (const caller of [admin, { kind: 'service', appId: 'appointment-service' }, { kind: 'sidecar' }, { kind: 'anonymous' }] as Caller[])
      expect(() => admit(link, caller)).toThrow(ForbiddenError);
    // Neither in the gateway's policy nor in the merged API document.
    expect(isClientRoute('auth-service', 'post', '/accounts/mail-requests/:id/link')).toBe(false);
  });
  it('an unconfirmed account may not book (a problem type of its own); everything else, and a confirmed one, as before', () => {
    const unconfirmed: Caller = { ...(patientP as Extract<Caller, { kind: 'user' }>), emailVerified: false };
    const book = ENDPOINTS['appointment-service']!['POST /appointments']!;
    const fhirBook = ENDPOINTS['appointment-service']!['POST /fhir/Appointment']!;
    for (const route of [book, fhirBook]) {
      expect(() => admit(route, unconfirmed)).toThrow(expect.objectContaining({ kind: 'forbidden', problemSlug: 'email-not-verified' }));
      expect(() => admit(route, patientP)).not.toThrow();
    }
    expect(() => admit(ENDPOINTS['appointment-service']!['GET /appointments']!, unconfirmed)).not.toThrow();
    const fromGateway = headers({ 'dapr-caller-app-id': 'gateway' });
    expect(callerOf(fromGateway, { sub: 'u1', roles: ['patient'], emailVerified: false })).toMatchObject({ emailVerified: false });
    expect(callerOf(fromGateway, { sub: 'u1', roles: ['patient'], emailVerified: true })).not.toHaveProperty('emailVerified');
    // A token signed before the claim existed belongs to an account that counts as confirmed.
    expect(callerOf(fromGateway, { sub: 'u1', roles: ['patient'] })).not.toHaveProperty('emailVerified');
  });
  it('patients do not record payments', () => {
    expect(mayAttempt(patientP, { resource: 'appointment', actions: ['pay'] })).toBe(false);
    expect(mayAttempt(receptionist, { resource: 'appointment', actions: ['pay'] })).toBe(true);
  });
});

describe('record checks', () => {
  const theirPatient = { id: 'p1', patientId: 'p1', careTeam: ['d1'] };
  const strangerPatient = { id: 'p2', patientId: 'p2', careTeam: ['d9'] };

  it('care-team scope: a doctor reads only patients who have (or had) an appointment with them', () => {
    expect(may(doctorD, 'patient', 'read', theirPatient)).toBe(true);
    expect(may(doctorD, 'patient', 'read', strangerPatient)).toBe(false);
    expect(() => authorize(doctorD, 'patient', 'read', strangerPatient)).toThrow(NotFoundError);
    expect(may(doctorD, 'patient', 'update', theirPatient)).toBe(false);
  });

  it('a patient reads their own record, a readable record they may not change answers 403, an unreadable one 404', () => {
    expect(may(patientP, 'patient', 'read', theirPatient)).toBe(true);
    expect(() => authorize(patientP, 'patient', 'update', theirPatient)).toThrow(ForbiddenError);
    expect(() => authorize(patientP, 'patient', 'update-contact', theirPatient)).not.toThrow();
    expect(() => authorize(patientP, 'patient', 'update-contact', strangerPatient)).toThrow(NotFoundError);
  });

  it('the widest permitted action: staff the whole record, the owner the narrow edit, a stranger nothing', () => {
    const actions = ['update', 'update-contact'] as const;
    expect(widestPermitted(receptionist, 'patient', actions, theirPatient)).toBe('update');
    expect(widestPermitted(patientP, 'patient', actions, theirPatient)).toBe('update-contact');
    expect(() => widestPermitted(patientP, 'patient', actions, strangerPatient)).toThrow(NotFoundError);
    expect(() => widestPermitted(doctorD, 'patient', actions, theirPatient)).toThrow(ForbiddenError);
  });

  it('appointments and invoices: own by patient or doctor link, never by a missing link', () => {
    const appointment = { id: 'a1', patientId: 'p1', doctorId: 'd1' };
    expect(may(patientP, 'appointment', 'read', appointment)).toBe(true);
    expect(may(doctorD, 'invoice', 'read', appointment)).toBe(true);
    expect(may(user(['patient']), 'appointment', 'read', appointment)).toBe(false); // unlinked patient
    expect(may(user(['doctor'], { doctorId: 'd2' }), 'appointment', 'read', appointment)).toBe(false);
    expect(may(patientP, 'appointment', 'progress', appointment)).toBe(false);
    expect(may(patientP, 'appointment', 'cancel', appointment)).toBe(true);
    // Moving is granted as cancelling is: staff any, the patient and the doctor their own.
    for (const caller of [receptionist, patientP, doctorD]) expect(may(caller, 'appointment', 'reschedule', appointment)).toBe(true);
    expect(may(user(['doctor'], { doctorId: 'd2' }), 'appointment', 'reschedule', appointment)).toBe(false);
    expect(() => authorize(user(['patient'], { patientId: 'p2' }), 'appointment', 'reschedule', appointment)).toThrow(NotFoundError);
    // The account link makes only accounts one's own.
    expect(may(patientP, 'account', 'read', { userId: 'u-patient' })).toBe(true);
    expect(may(patientP, 'appointment', 'read', { userId: 'u-patient', patientId: 'p9' })).toBe(false);
  });
});

describe('records not yet created', () => {
  it('a patient books for their own patient record only; staff for anyone; a refusal is 403, never 404 (nothing to hide)', () => {
    expect(() => authorizeNew(patientP, 'appointment', { patientId: 'p1' })).not.toThrow();
    expect(() => authorizeNew(receptionist, 'appointment', { patientId: 'p2' })).not.toThrow();
    expect(() => authorizeNew(patientP, 'appointment', { patientId: 'p2' })).toThrow(ForbiddenError);
    expect(() => authorizeNew(user(['patient']), 'appointment', { patientId: 'p1' })).toThrow('You may not book this appointment');
    expect(() => authorizeNew(doctorD, 'appointment', { patientId: 'p1', doctorId: 'd1' }, { refusal: 'not yours' })).toThrow('not yours');
  });

  it('registering patients is for staff, doctors for admins, whatever the facts', () => {
    expect(() => authorizeNew(receptionist, 'patient', { patientId: 'p9' })).not.toThrow();
    expect(() => authorizeNew(patientP, 'patient', { patientId: 'p1' })).toThrow(ForbiddenError);
    expect(() => authorizeNew(admin, 'doctor', {})).not.toThrow();
    expect(() => authorizeNew(receptionist, 'doctor', {})).toThrow(ForbiddenError);
    expect(() => authorizeNew(admin, 'account', {})).not.toThrow();
  });
});

describe('self-service fields: what an owner may change on their own record', () => {
  const refusedOf = (run: () => void) => {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(ForbiddenError);
      return (error as ForbiddenError).details;
    }
    return undefined;
  };

  it('a patient their contact details; a member of details only where named, a whole details never', () => {
    expect(
      refusedOf(() => checkSelfServicePatch('patient', { phone: null, address: 'x', details: { emergencyContact: null } })),
    ).toBeUndefined();
    expect(refusedOf(() => checkSelfServicePatch('patient', { details: { allergies: [] }, name: 'X', phone: '1' }))).toEqual({
      allowedFields: ['phone', 'address', 'details.emergencyContact'],
      refusedFields: ['name', 'details.allergies'],
    });
    for (const details of [null, [], 'x']) {
      expect(refusedOf(() => checkSelfServicePatch('patient', { details }))).toMatchObject({ refusedFields: ['details'] });
    }
    expect(() => checkSelfServicePatch('patient', { version: 2 })).toThrow(
      'a patient may change only phone, address, details.emergencyContact of their own record; the rest is for staff',
    );
  });

  it('a doctor their phone, working hours and accepting; members that are no field (version) pass when the service says so', () => {
    expect(
      refusedOf(() =>
        checkSelfServicePatch('doctor', { workingHours: { mon: null }, accepting: false, version: 3 }, { besides: ['version'] }),
      ),
    ).toBeUndefined();
    expect(refusedOf(() => checkSelfServicePatch('doctor', { fees: {}, phone: '1' }))).toEqual({
      allowedFields: ['phone', 'workingHours', 'accepting'],
      refusedFields: ['fees'],
    });
  });

  it('each list pairs with an action the owner holds on their own record', () => {
    for (const [resource, { action }] of Object.entries(SELF_SERVICE_FIELDS) as [SelfServiceResource, { action: Action }][]) {
      const owner = resource === 'patient' ? patientP : doctorD;
      expect(may(owner, resource, action, { patientId: 'p1', doctorId: 'd1' })).toBe(true);
      expect(may(receptionist, resource, action, { patientId: 'p1', doctorId: 'd1' })).toBe(false);
    }
  });
});

describe('list scopes', () => {
  it('staff all; doctor their care team; patient their own; an unlinked patient nothing', () => {
    expect(narrow(receptionist, 'patient')).toEqual({ all: true, anyOf: [] });
    expect(scopeIds(narrow(doctorD, 'patient'), 'careTeamOf')).toEqual(['d1']);
    expect(scopeIds(narrow(patientP, 'appointment'), 'patientId')).toEqual(['p1']);
    expect(scopeIds(narrow(doctorD, 'invoice'), 'doctorId')).toEqual(['d1']);
    expect(scopeIds(narrow(user(['patient']), 'appointment'), 'patientId')).toEqual([]);
    expect(seesNothing(narrow(user(['patient']), 'appointment'))).toBe(true); // answered without a query
    expect(seesNothing(narrow(user(['doctor']), 'invoice'))).toBe(true);
    expect(seesNothing(narrow(patientP, 'patient'))).toBe(true); // patients do not list patients
  });
  it('several roles widen a scope, never narrow it', () => {
    const both = user(['patient', 'doctor'], { patientId: 'p1', doctorId: 'd1' });
    const scope = narrow(both, 'appointment');
    expect(scopeIds(scope, 'patientId')).toEqual(['p1']);
    expect(scopeIds(scope, 'doctorId')).toEqual(['d1']);
  });
});
