import { unforwardableHeader, upstreamHeaders } from '../../src/http/proxy.js';

describe('headers forwarded to the sidecar', () => {
  const client = {
    authorization: 'Bearer t',
    'content-type': 'application/json',
    'x-forwarded-for': '10.9.9.9, 1.2.3.4',
    forwarded: 'for=10.9.9.9',
    'x-real-ip': '10.9.9.9',
    'x-forwarded-proto': 'https',
    'x-caregrid-roles': 'admin',
    'x-caregrid-user-id': 'someone',
    'dapr-api-token': 'stolen',
    'dapr-app-id': 'patient-service',
    'dapr-caller-app-id': 'billing-service',
    'dapr-callee-app-id': 'patient-service',
    'dapr-caller-namespace': 'kube-system',
    connection: 'keep-alive',
    host: 'api.caregrid.example',
    'x-request-id': 'mine-123',
    'x-client-request-id': 'forged',
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    tracestate: 'client=1',
  };

  it("drop what only the gateway, its sidecar or Dapr may state, and carry the gateway's own account of the client", () => {
    const headers = upstreamHeaders(client, {
      clientAddress: '203.0.113.7',
      proto: 'http',
      traceparent: '00-abc-def-01',
      requestId: 'r1',
      clientRequestId: 'mine-123',
    });
    expect(headers).toEqual({
      authorization: 'Bearer t',
      'content-type': 'application/json',
      'x-forwarded-for': '203.0.113.7',
      'x-forwarded-proto': 'http',
      traceparent: '00-abc-def-01',
      'x-request-id': 'r1',
      'x-client-request-id': 'mine-123',
    });
  });
});

describe("the client's Idempotency-Key", () => {
  it('goes to the service as sent: the service keeps the first answer under it', () => {
    const headers = upstreamHeaders({ 'idempotency-key': 'b7c1-retry-1' }, { clientAddress: '203.0.113.7', proto: 'https' });
    expect(headers['idempotency-key']).toBe('b7c1-retry-1');
  });
});

describe('the host the client addressed', () => {
  it('is vouched as x-forwarded-host (a client-written one is dropped), for links a service writes', () => {
    const headers = upstreamHeaders(
      { host: 'api.caregrid.example', 'x-forwarded-host': 'evil.example' },
      { clientAddress: '203.0.113.7', proto: 'https', host: 'api.caregrid.example' },
    );
    expect(headers['x-forwarded-host']).toBe('api.caregrid.example');
    expect(headers.host).toBeUndefined();
  });
});

describe('headers the sidecars cannot carry', () => {
  it('a value with bytes outside printable ASCII is named (answered 400, never a 502 from the sidecar)', () => {
    // Node hands header bytes above 0x7F on as Latin-1 characters.
    expect(unforwardableHeader({ 'idempotency-key': 'k\u00e9y', authorization: 'Bearer t' })).toBe('idempotency-key');
    expect(unforwardableHeader({ 'x-note': ['fine', 'bad\u0001'] })).toBe('x-note');
    expect(unforwardableHeader({ 'idempotency-key': 'b7c1 retry\t1', 'user-agent': 'curl/8.5.0' })).toBeUndefined();
  });
});
