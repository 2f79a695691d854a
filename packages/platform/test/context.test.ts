import { childTraceparent, isValidTraceparent, newRequestContext, propagationHeaders, runWithContext } from '../src/context.js';

describe('request context', () => {
  it('keeps the traceparent, identity headers and request ids of an invocation', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const context = newRequestContext({
      traceparent,
      'dapr-caller-app-id': 'appointment-service',
      'x-request-id': 'abc-123',
      'x-client-request-id': 'mine-1',
      'x-caregrid-user-id': 'u1',
      'x-other': 'no',
    });
    expect(context).toEqual({ requestId: 'abc-123', clientRequestId: 'mine-1', traceparent, identity: { 'x-caregrid-user-id': 'u1' } });
  });

  it('mints the request id of a request that came from no invocation, and keeps no client id for it', () => {
    const context = newRequestContext({ 'x-request-id': 'abc-123', 'x-client-request-id': 'mine-1' });
    expect(context.requestId).not.toBe('abc-123');
    expect(context.clientRequestId).toBeUndefined();
  });

  it("at the public entry: a new request id and trace, the client's well-formed id beside them, no identity", () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const headers = { traceparent, 'x-request-id': 'mine-123', 'dapr-caller-app-id': 'gateway', 'x-caregrid-roles': 'admin' };
    const context = newRequestContext(headers, { publicEntry: true });
    expect(context.requestId).not.toBe('mine-123');
    expect(context.clientRequestId).toBe('mine-123');
    expect(context.traceparent.split('-')[1]).not.toBe(traceparent.split('-')[1]);
    expect(context.identity).toEqual({});
    const unsafe = newRequestContext({ 'x-request-id': 'bad id\nforged log line' }, { publicEntry: true });
    expect(unsafe.clientRequestId).toBeUndefined();
  });

  it('replaces a malformed traceparent and an unsafe request id', () => {
    const context = newRequestContext({
      'dapr-caller-app-id': 'gateway',
      traceparent: 'garbage',
      'x-request-id': 'bad id\nforged log line',
    });
    expect(isValidTraceparent(context.traceparent)).toBe(true);
    expect(context.requestId).not.toContain('\n');
  });

  it('a child traceparent keeps the trace id and changes the span id', () => {
    const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const child = childTraceparent(parent);
    expect(child.split('-')[1]).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(child.split('-')[2]).not.toBe('00f067aa0ba902b7');
  });

  it('propagates the current request to outgoing calls', () => {
    const context = newRequestContext({
      'dapr-caller-app-id': 'gateway',
      'x-request-id': 'r1',
      'x-client-request-id': 'c1',
      'x-caregrid-roles': 'admin',
    });
    const headers = runWithContext(context, () => propagationHeaders());
    expect(headers).toEqual({
      traceparent: context.traceparent,
      'x-request-id': 'r1',
      'x-client-request-id': 'c1',
      'x-caregrid-roles': 'admin',
    });
  });
});
