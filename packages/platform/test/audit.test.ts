/**
 * The audit hook of ApiRouter, in process: an audited route's answer waits
 * for its entry, carries the access decision and the patient it concerned,
 * and is not served at all when the entry cannot be written; a write hands
 * its entry to the write helpers (auditEntryForWrite) instead.
 */
import type { Server } from 'node:http';
import { TOKEN_AUDIENCE, TOKEN_ISSUER, type AuditEntry } from '@caregrid/contracts';
import { sampleAuditEntry } from '@caregrid/devkit';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { pino } from 'pino';
import { z } from 'zod';
import { authorize } from '../src/access/check.js';
import { auditEntryForWrite, noteAccess, trailAuditSink, type AuditSink } from '../src/audit/trail.js';
import type { OutboxEvent } from '../src/data/outbox.js';
import { createServiceApp } from '../src/http/app.js';
import { TokenVerifier } from '../src/access/tokens.js';
import { ApiRouter } from '../src/http/routes.js';

const PATIENT = '0199a1b2-0000-7000-8000-000000000001';
const OTHER = '0199a1b2-0000-7000-8000-000000000002';
const endpoints = {
  'GET /patients/:id': { resource: 'patient', actions: ['read'] },
  'GET /patients': { resource: 'patient', actions: ['list'] },
  'POST /patients': { resource: 'patient', actions: ['create'] },
} as const;

/** What the write helpers do with a request's entry (postgres.ts): the row goes with the change, or the write failed. */
let writeOutcome: 'commits' | 'fails' = 'commits';
const rowsWithChange: Omit<OutboxEvent, 'time'>[] = [];

function router() {
  return new ApiRouter(endpoints as never, 'patient-service')
    .add({
      method: 'get',
      path: '/patients/:id',
      audit: 'read',
      summary: 'Read',
      params: z.object({ id: z.uuid() }),
      responses: { 200: { description: 'the record' } },
      handler: ({ params, caller, res }) => {
        if (auditEntryForWrite()) throw new Error('a read handed its entry to a write');
        authorize(caller, 'patient', 'read', { id: params.id, patientId: params.id });
        res.json({ id: params.id, diagnosis: 'confidential' });
      },
    })
    .add({
      method: 'post',
      path: '/patients',
      audit: 'create',
      summary: 'Create',
      responses: { 201: { description: 'created' }, 409: { description: 'duplicate' } },
      handler: ({ res }) => {
        noteAccess({ resourceId: PATIENT, patientIds: [PATIENT] });
        const audit = auditEntryForWrite();
        expect(auditEntryForWrite()).toBeUndefined(); // one write holds it at a time
        if (writeOutcome === 'fails') {
          audit?.failed();
          res.status(409).json({ title: 'duplicate' });
          return;
        }
        rowsWithChange.push(audit!.row());
        audit!.committed();
        res.status(201).json({ id: PATIENT });
      },
    })
    .add({
      method: 'get',
      path: '/patients',
      audit: 'search',
      summary: 'Search',
      responses: { 200: { description: 'a page' } },
      handler: ({ res }) => {
        noteAccess({ patientIds: [PATIENT, OTHER, 'not-a-uuid'] });
        res.json({ items: [] });
      },
    });
}

const signingKey = generateKeyPair('ES256');
let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function serve(sink: AuditSink): Promise<string> {
  const publicJwk = { ...(await exportJWK((await signingKey).publicKey)), kid: 'k1' };
  const tokens = new TokenVerifier(async () => ({ keys: [publicJwk] }));
  const app = createServiceApp({
    service: 'patient-service',
    deps: { logger: pino({ level: 'silent' }), audit: sink, tokens },
    json: router(),
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server!.once('listening', resolve));
  return `http://127.0.0.1:${(server!.address() as { port: number }).port}`;
}

/** A call from the gateway for a user with these roles (and links): their bearer token, signed by the key the app verifies against. */
const viaGateway = async (roles: string, links: { patientId?: string } = {}) => ({
  'dapr-caller-app-id': 'gateway',
  authorization: `Bearer ${await new SignJWT({ roles: roles.split(','), ...links })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setSubject('u-1')
    .setExpirationTime('15m')
    .sign((await signingKey).privateKey)}`,
  'x-forwarded-for': '198.51.100.4',
  'x-request-id': 'req-1',
});

it('refuses at start a route of patient data that declares no audit action', () => {
  expect(() =>
    new ApiRouter(endpoints as never, 'patient-service').add({
      method: 'get',
      path: '/patients/:id',
      summary: 'Read',
      responses: {},
      handler: () => undefined,
    }),
  ).toThrow(/declare its audit action/);
  expect(() => createServiceApp({ service: 'x', deps: { logger: pino({ level: 'silent' }) }, json: router() })).toThrow(/no audit sink/);
});

it('counts a read of the audit trail itself as an access to patient data', () => {
  expect(() =>
    new ApiRouter({ 'GET /audit': { resource: 'audit', actions: ['read'] } } as never, 'analytics-service').add({
      method: 'get',
      path: '/audit',
      summary: 'Search the trail',
      responses: {},
      handler: () => undefined,
    }),
  ).toThrow(/declare its audit action/);
});

it('the trail keeper writes the entries of its own reads straight into the trail, checked and grouped', async () => {
  const batches: AuditEntry[][] = [];
  let release!: () => void;
  const first = new Promise<void>((resolve) => (release = resolve));
  const sink = trailAuditSink(async (entries) => {
    batches.push(entries);
    if (batches.length === 1) await first;
  });
  const entry = (n: number): AuditEntry =>
    sampleAuditEntry({
      id: `0199a1b2-0000-7000-8000-00000000010${n}`,
      at: '2031-01-01T10:00:00.000Z',
      actor: { kind: 'service', appId: 'patient-service' },
      service: 'analytics-service',
      resource: 'audit',
      action: 'search',
      patientIds: [PATIENT],
      requestId: `req-${n}`,
    });
  const written = [sink(entry(1)), sink(entry(2)), sink(entry(3)), sink(entry(4))];
  release();
  await Promise.all(written);
  expect(batches.map((batch) => batch.map((e) => e.requestId))).toEqual([['req-1'], ['req-2'], ['req-3', 'req-4']]);
  await expect(sink({ ...entry(5), resource: 'nothing' as never })).rejects.toThrow();
});

it('writes one entry before the answer leaves: allowed, with the patient, the client address and the request id', async () => {
  const entries: AuditEntry[] = [];
  let release!: () => void;
  const written = new Promise<void>((resolve) => (release = resolve));
  const base = await serve(async (entry) => {
    await written;
    entries.push(entry);
  });
  let answered = false;
  const response = fetch(`${base}/patients/${PATIENT}`, { headers: await viaGateway('receptionist') }).then((r) => {
    answered = true;
    return r;
  });
  await new Promise((resolve) => setTimeout(resolve, 150));
  expect(answered).toBe(false);
  release();
  expect((await response).status).toBe(200);
  expect(entries).toEqual([
    expect.objectContaining({
      actor: { kind: 'user', userId: 'u-1', roles: ['receptionist'] },
      service: 'patient-service',
      resource: 'patient',
      resourceId: PATIENT,
      action: 'read',
      patientIds: [PATIENT],
      outcome: 'allowed',
      status: 200,
      clientAddress: '198.51.100.4',
      requestId: 'req-1',
    }),
  ]);
});

it('records a refusal as denied, and a search with the patients it touched', async () => {
  const entries: AuditEntry[] = [];
  const base = await serve(async (entry) => void entries.push(entry));
  expect((await fetch(`${base}/patients/${PATIENT}`, { headers: await viaGateway('patient', { patientId: OTHER }) })).status).toBe(404);
  expect((await fetch(`${base}/patients`, { headers: await viaGateway('patient') })).status).toBe(403);
  expect((await fetch(`${base}/patients`, { headers: await viaGateway('admin') })).status).toBe(200);
  expect(entries.map(({ outcome, status, patientIds, action }) => ({ outcome, status, patientIds, action }))).toEqual([
    { outcome: 'denied', status: 404, patientIds: [PATIENT], action: 'read' },
    { outcome: 'denied', status: 403, patientIds: [], action: 'search' },
    { outcome: 'allowed', status: 200, patientIds: [PATIENT, OTHER], action: 'search' },
  ]);
});

it('does not serve the data when its entry cannot be written', async () => {
  const base = await serve(async () => {
    throw new Error('outbox unavailable');
  });
  const response = await fetch(`${base}/patients/${PATIENT}`, { headers: await viaGateway('admin') });
  const text = await response.text();
  expect(response.status).toBe(503);
  expect(response.headers.get('content-type')).toContain('application/problem+json');
  expect(text).not.toContain('confidential');
});

it("a write: its entry goes with the change (allowed, the success status) and no second one; a failed write's is written after", async () => {
  const entries: AuditEntry[] = [];
  const base = await serve(async (entry) => void entries.push(entry));
  const post = async () => fetch(`${base}/patients`, { method: 'POST', headers: await viaGateway('admin') });
  expect((await post()).status).toBe(201);
  expect(entries).toEqual([]);
  expect(rowsWithChange).toEqual([
    expect.objectContaining({
      topic: 'audit.patient-service',
      type: 'caregrid.audit.recorded.v1',
      data: expect.objectContaining({ action: 'create', resourceId: PATIENT, outcome: 'allowed', status: 201, requestId: 'req-1' }),
    }),
  ]);
  // Each entry is a subject of its own (no order to keep among entries, so none waits behind another).
  expect(rowsWithChange[0]!.subject).toBe((rowsWithChange[0]!.data as { id: string }).id);

  writeOutcome = 'fails';
  expect((await post()).status).toBe(409);
  expect(rowsWithChange).toHaveLength(1);
  expect(entries).toEqual([expect.objectContaining({ action: 'create', outcome: 'failed', status: 409 })]);

  // A read's entry is never handed to a write (its handler checks).
  const read = await fetch(`${base}/patients/${PATIENT}`, { headers: await viaGateway('admin') });
  expect(read.status).toBe(200);
  expect(entries).toHaveLength(2);
});
