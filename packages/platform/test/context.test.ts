import { childTraceparent, isValidTraceparent, newRequestContext, propagationHeaders, runWithContext } from '../src/context.js';

describe('request context', () => {
  it('keeps a valid incoming traceparent and identity headers', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const context = newRequestContext({ traceparent, 'x-request-id': 'abc-123', 'x-caregrid-user-id': 'u1', 'x-other': 'no' });
    expect(context).toEqual({ requestId: 'abc-123', traceparent, identity: { 'x-caregrid-user-id': 'u1' } });
  });

  it('replaces a malformed traceparent and an unsafe request id', () => {
    const context = newRequestContext({ traceparent: 'garbage', 'x-request-id': 'bad id\nforged log line' });
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
    const context = newRequestContext({ 'x-request-id': 'r1', 'x-caregrid-roles': 'admin' });
    const headers = runWithContext(context, () => propagationHeaders());
    expect(headers).toEqual({ traceparent: context.traceparent, 'x-request-id': 'r1', 'x-caregrid-roles': 'admin' });
  });
});
