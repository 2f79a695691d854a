/**
 * The sidecars' access control lists (dapr/config/*.yaml `spec.accessControl`)
 * are the access model's, and one shared list is right for every service.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ENDPOINTS,
  SIDECAR,
  TRUST_DOMAIN,
  aclGroupOf,
  aclOperations,
  invocationGrants,
  isServiceOnly,
  sidecarAccessControl,
} from '@caregrid/platform';
import { parse, stringify } from 'yaml';

const root = path.resolve(import.meta.dirname, '../..');
const configuration = (name: string) =>
  parse(readFileSync(path.join(root, 'dapr', 'config', `${name}.yaml`), 'utf8')) as {
    spec: { mtls?: { enabled: boolean; sentryAddress: string }; accessControl?: unknown };
  };

describe('Dapr access control lists', () => {
  it("the services' Configuration carries exactly the list derived from the access model", () => {
    const expected = sidecarAccessControl();
    const actual = configuration('caregrid').spec.accessControl;
    // On a change of the model, paste this under spec.accessControl of dapr/config/caregrid.yaml.
    if (JSON.stringify(actual) !== JSON.stringify(expected)) console.log(stringify({ accessControl: expected }));
    expect(actual).toEqual(expected);
  });

  it('turns mTLS on in every Configuration, and nobody may invoke the gateway', () => {
    for (const name of ['caregrid', 'gateway']) expect(configuration(name).spec.mtls).toMatchObject({ enabled: true });
    expect(configuration('gateway').spec.accessControl).toEqual({ defaultAction: 'deny', trustDomain: TRUST_DOMAIN });
  });

  it("lets the gateway call every client route, appointment-service read patients and doctors, patient-service read the audit trail, notification-service read patients and appointments and fetch account mail links, every service that serves users read auth-service's public key set, nobody else anything", () => {
    const grants = invocationGrants();
    const keySet = { 'auth-service': ['GET /.well-known/jwks.json'] };
    expect(Object.keys(grants).sort()).toEqual([
      'analytics-service',
      'appointment-service',
      'billing-service',
      'doctor-service',
      'gateway',
      'notification-service',
      'patient-service',
    ]);
    expect(grants['appointment-service']).toEqual({
      'patient-service': ['GET /patients/:id'],
      'doctor-service': ['GET /doctors/:id'],
      ...keySet,
    });
    expect(grants['patient-service']).toEqual({ 'analytics-service': ['GET /audit'], ...keySet });
    expect(grants['notification-service']).toEqual({
      'patient-service': ['GET /patients/:id'],
      'appointment-service': ['GET /appointments/:id'],
      'auth-service': ['POST /accounts/mail-requests/:id/link', 'GET /.well-known/jwks.json'],
    });
    for (const service of ['doctor-service', 'billing-service', 'analytics-service']) expect(grants[service]).toEqual(keySet);
    for (const [service, table] of Object.entries(ENDPOINTS)) {
      // Not the sidecar's routes, and not those only a peer service may call.
      const clientRoutes = Object.keys(table).filter((key) => table[key] !== SIDECAR && !isServiceOnly(table[key]!));
      expect(grants.gateway![service]).toEqual([...clientRoutes, 'GET /openapi.json']);
    }
    // No sidecar-only route (event delivery, binding trigger) and no user administration for peers.
    const acl = sidecarAccessControl();
    const operations = acl.policies.flatMap((p) => p.operations.map((o) => `${p.appId} ${o.name}`));
    expect(operations.filter((o) => /\/events|appointment-cleanup/.test(o))).toEqual([]);
    expect(operations.filter((o) => o.includes('/auth') && !o.startsWith('gateway '))).toEqual([]);
  });

  it("is right for every callee at once: a first segment (under /fhir, a resource type) is one service's, or renders alike for every service that has it", () => {
    const bySegment = new Map<string, Map<string, string[]>>();
    for (const [service, table] of Object.entries(ENDPOINTS)) {
      for (const key of Object.keys(table).filter((k) => table[k] !== SIDECAR && !k.includes(' /ops/'))) {
        const segment = aclGroupOf(key.split(' ')[1]!);
        const services = bySegment.get(segment) ?? new Map<string, string[]>();
        services.set(service, [...(services.get(service) ?? []), key]);
        bySegment.set(segment, services);
      }
    }
    for (const [segment, services] of bySegment) {
      // `/ops` (dead letters, parked outbox rows) is every such service's: the one list must fit each of them.
      const rendered = new Set([...services.values()].map((keys) => JSON.stringify(aclOperations(keys))));
      expect([segment, rendered.size]).toEqual([segment, 1]);
    }
  });

  it("renders routes the way Dapr's operation matching needs (prefix match, `*` only last)", () => {
    expect(aclOperations(['GET /patients/:id'])).toEqual([{ name: '/patients/*', httpVerb: ['GET'], action: 'allow' }]);
    expect(aclOperations(['GET /invoices/:id/pdf'])).toEqual([{ name: '/invoices/**/pdf', httpVerb: ['GET'], action: 'allow' }]);
    // A collection and its items: one operation for the segment, with the verbs of both.
    expect(aclOperations(['POST /invoices', 'GET /invoices/:id', 'POST /invoices/:id/cancel', 'GET /openapi.json'])).toEqual([
      { name: '/invoices/**', httpVerb: ['GET', 'POST'], action: 'allow' },
      { name: '/openapi.json', httpVerb: ['GET'], action: 'allow' },
    ]);
  });
});
