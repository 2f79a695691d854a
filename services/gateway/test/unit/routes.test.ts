import { ENDPOINTS } from '@caregrid/platform';
import { publicPathOf, requestTargetProblem, resolveRoute } from '../../src/domain/routes.js';
import { TokenBuckets } from '../../src/domain/token-bucket.js';

describe('route table', () => {
  it('strips /api and keeps the rest of the path', () => {
    expect(resolveRoute('/api/patients')).toEqual({ appId: 'patient-service', path: '/patients' });
    expect(resolveRoute('/api/patients/42')).toEqual({ appId: 'patient-service', path: '/patients/42' });
    expect(resolveRoute('/api/auth/login')).toEqual({ appId: 'auth-service', path: '/auth/login' });
    expect(resolveRoute('/.well-known/jwks.json')).toEqual({ appId: 'auth-service', path: '/.well-known/jwks.json' });
  });

  it('every ops route of the access table is reachable at /api/ops/<app-id>, and only those services have one', () => {
    for (const [appId, routes] of Object.entries(ENDPOINTS)) {
      const ops = Object.keys(routes).filter((route) => route.split(' ')[1]!.startsWith('/ops/'));
      for (const route of ops) {
        const path = route.split(' ')[1]!.replace(/:\w+/g, 'x');
        expect(resolveRoute(`/api${path.replace('/ops', `/ops/${appId}`)}`)).toEqual({ appId, path });
      }
      if (ops.length === 0) expect(resolveRoute(`/api/ops/${appId}/backlog`)).toBeUndefined();
    }
  });

  it("rewrites billing's paths", () => {
    expect(resolveRoute('/api/billing/invoices/7/pdf')).toEqual({ appId: 'billing-service', path: '/invoices/7/pdf' });
    expect(resolveRoute('/api/ops/billing-service/dead-letters/e1/redrive')).toEqual({
      appId: 'billing-service',
      path: '/ops/dead-letters/e1/redrive',
    });
  });

  it('matches whole segments only, and nothing outside the table', () => {
    expect(resolveRoute('/api/patientsx')).toBeUndefined();
    expect(resolveRoute('/api')).toBeUndefined();
    expect(resolveRoute('/v1.0/metadata')).toBeUndefined();
  });

  it('refuses dot segments and encoded separators that could climb out of the invocation path', () => {
    for (const path of [
      '/api/patients/..',
      '/api/patients/../../v1.0/secrets',
      '/api/patients/%2e%2e/x',
      '/api/patients/a%2Fb',
      '/api/patients/.',
      '/api/patients/a\\b',
    ]) {
      expect([path, resolveRoute(path)]).toEqual([path, undefined]);
    }
    expect(resolveRoute('/api/patients/a.b')).toEqual({ appId: 'patient-service', path: '/patients/a.b' });
  });

  it('refuses control characters, "#", encoded "?" and "%", and malformed percent-encoding in the request target', () => {
    for (const target of [
      '/api/patients/%23',
      '/api/patients/a#b',
      '/api/patients?q=1#frag',
      '/api/patients/x%00',
      '/api/patients/x%0a',
      '/api/patients/x%0D%0Ay',
      '/api/billing/invoices/q%1E',
      '/api/patients/%7F',
      '/api/patients/x\u0001',
      '/api/patients/%zz',
      '/api/patients/%2',
      '/api/patients/%',
      '/api/patients/%ff', // not UTF-8 once decoded
      '/api/patients/%3F', // the sidecar decodes it: /patients/ with a query
      '/api/patients/%25', // the sidecar decodes it: a bare "%" (a 502)
      '/api/patients/%2525',
    ]) {
      expect([target, requestTargetProblem(target)]).toEqual([target, expect.any(String)]);
    }
    for (const target of [
      '/api/patients',
      '/api/patients/a%20b',
      '/api/patients/%C3%A9',
      '/api/patients?name=%00x',
      '/api/billing/invoices/7/pdf',
    ]) {
      expect([target, requestTargetProblem(target)]).toEqual([target, undefined]);
    }
  });

  it('maps service paths back to public ones for the merged document', () => {
    expect(publicPathOf('patient-service', '/patients/{id}')).toBe('/api/patients/{id}');
    expect(publicPathOf('billing-service', '/invoices/{id}')).toBe('/api/billing/invoices/{id}');
    expect(publicPathOf('billing-service', '/ops/dead-letters')).toBe('/api/ops/billing-service/dead-letters');
    expect(publicPathOf('analytics-service', '/ops/dead-letters/{id}/redrive')).toBe(
      '/api/ops/analytics-service/dead-letters/{id}/redrive',
    );
    expect(publicPathOf('auth-service', '/.well-known/jwks.json')).toBe('/.well-known/jwks.json');
    expect(publicPathOf('patient-service', '/internal')).toBeUndefined();
  });
});

describe('token buckets', () => {
  it('lets a burst up to the capacity through, then refuses with the wait, and refills over time', () => {
    const buckets = new TokenBuckets(60, 3);
    const t0 = 1_000_000;
    expect([buckets.take('a', t0), buckets.take('a', t0), buckets.take('a', t0)]).toEqual([0, 0, 0]);
    expect(buckets.take('a', t0)).toBe(1);
    expect(buckets.take('b', t0)).toBe(0); // per client
    expect(buckets.take('a', t0 + 1_000)).toBe(0); // one token a second at 60/min
  });
});

describe('FHIR routes', () => {
  it('send each resource type to the service that owns it, as /fhir/<Type>', () => {
    expect(resolveRoute('/api/fhir/Patient')).toEqual({ appId: 'patient-service', path: '/fhir/Patient' });
    expect(resolveRoute('/api/fhir/PractitionerRole/1')).toEqual({ appId: 'doctor-service', path: '/fhir/PractitionerRole/1' });
    expect(resolveRoute('/api/fhir/Practitioner')).toEqual({ appId: 'doctor-service', path: '/fhir/Practitioner' });
    expect(resolveRoute('/api/fhir/Slot')).toEqual({ appId: 'appointment-service', path: '/fhir/Slot' });
    expect(resolveRoute('/api/fhir/Invoice/1')).toEqual({ appId: 'billing-service', path: '/fhir/Invoice/1' });
    expect(resolveRoute('/api/fhir/CommunicationRequest/1')).toEqual({
      appId: 'notification-service',
      path: '/fhir/CommunicationRequest/1',
    });
    expect(resolveRoute('/api/fhir/Communication')).toEqual({ appId: 'notification-service', path: '/fhir/Communication' });
    // The CapabilityStatement is the gateway's; unknown types are no service's.
    expect(resolveRoute('/api/fhir/metadata')).toBeUndefined();
    expect(resolveRoute('/api/fhir/Observation')).toBeUndefined();
    expect(resolveRoute('/api/fhir/Patients')).toBeUndefined();
  });

  it("name billing's FHIR routes under /api/fhir in the merged API document, not /api/billing", () => {
    expect(publicPathOf('billing-service', '/fhir/Invoice/{id}')).toBe('/api/fhir/Invoice/{id}');
    expect(publicPathOf('patient-service', '/fhir/Patient')).toBe('/api/fhir/Patient');
  });
});
