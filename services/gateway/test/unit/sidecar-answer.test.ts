import { classifySidecarAnswer, type Problem, type SidecarAnswer, type Verdict } from '../../src/http/sidecar-answer.js';

const JSON_TYPE = 'application/json';
const daprError = (message: string, errorCode = 'ERR_DIRECT_INVOKE') => JSON.stringify({ errorCode, message });
const upstream = (status: number, title: string, detail: string, headers: Record<string, string> = {}): Problem => ({
  status,
  slug: 'upstream',
  title,
  detail,
  headers,
});
const TIMED_OUT = upstream(504, 'Gateway timeout', 'The service did not answer in time');
const UNAVAILABLE = upstream(503, 'Service unavailable', 'The service is unavailable', { 'retry-after': '1' });
const UNREACHABLE = upstream(502, 'Service unavailable', 'The service could not be reached');

describe("the sidecar's answer, before its body is read", () => {
  it.each<[string, SidecarAnswer, Verdict['kind']]>([
    ['a 200 streams through', { status: 200, contentType: 'application/pdf' }, 'stream'],
    ["the callee's own JSON 4xx streams through", { status: 404, contentType: 'application/problem+json' }, 'stream'],
    ["the callee's JSON 401 streams through (a service's own refusal)", { status: 401, contentType: JSON_TYPE }, 'stream'],
    ["the callee's problem+json 403 streams through", { status: 403, contentType: 'application/problem+json' }, 'stream'],
    ['a 5xx that is not JSON streams through', { status: 500, contentType: 'text/html' }, 'stream'],
    ['a 5xx problem+json streams through (not application/json)', { status: 503, contentType: 'application/problem+json' }, 'stream'],
    ['a plain-text 401 (the policy) is read first', { status: 401, contentType: 'text/plain' }, 'read'],
    ['a 403 without a content type (the policy) is read first', { status: 403, contentType: '' }, 'read'],
    ['a plain-text 405 (the policy: an interaction not offered) is read first', { status: 405, contentType: 'text/plain' }, 'read'],
    ["a service's own JSON 405 streams through", { status: 405, contentType: JSON_TYPE }, 'stream'],
    ['a JSON 5xx (maybe Dapr) is read first', { status: 500, contentType: 'application/json; charset=utf-8' }, 'read'],
    ['a JSON 502 is read first', { status: 502, contentType: JSON_TYPE }, 'read'],
  ])('%s', (_, answer, kind) => {
    expect(classifySidecarAnswer(answer)).toEqual({ kind });
  });
});

describe('the answer read whole', () => {
  it.each<[string, SidecarAnswer, Verdict]>([
    [
      "the policy's 401: problem with the Bearer challenge",
      { status: 401, contentType: 'text/plain', body: 'Unauthorized' },
      {
        kind: 'refused',
        problem: {
          status: 401,
          slug: 'unauthenticated',
          title: 'Unauthorized',
          detail: 'A valid bearer token is required',
          headers: { 'www-authenticate': 'Bearer' },
        },
      },
    ],
    [
      "the policy's 403",
      { status: 403, contentType: 'text/plain', body: 'Forbidden' },
      {
        kind: 'refused',
        problem: { status: 403, slug: 'forbidden', title: 'Forbidden', detail: 'Your role does not allow this request', headers: {} },
      },
    ],
    [
      "the policy's 405: problem naming the method and what is offered",
      { status: 405, contentType: 'text/plain', body: 'Method Not Allowed', method: 'DELETE', allow: 'GET, PUT' },
      {
        kind: 'refused',
        problem: {
          status: 405,
          slug: 'method-not-allowed',
          title: 'Method not allowed',
          detail: 'DELETE is not offered here (offered: GET, PUT; see /api/fhir/metadata)',
          headers: { allow: 'GET, PUT' },
        },
      },
    ],
    [
      "the policy's 405 where nothing is offered",
      { status: 405, contentType: 'text/plain', body: 'Method Not Allowed', method: 'GET', allow: '' },
      {
        kind: 'refused',
        problem: {
          status: 405,
          slug: 'method-not-allowed',
          title: 'Method not allowed',
          detail: 'GET is not offered here (nothing is; see /api/fhir/metadata)',
          headers: { allow: '' },
        },
      },
    ],
    ...(['context deadline exceeded', 'request Timeout', 'the call timed out'] as const).map(
      (message): [string, SidecarAnswer, Verdict] => [
        `Dapr's failure "${message}": 504`,
        { status: 500, contentType: JSON_TYPE, body: daprError(message) },
        { kind: 'failed', problem: TIMED_OUT },
      ],
    ),
    ...(
      [
        'failed to invoke, id: doctor-service, err: no host found',
        'dial tcp 127.0.0.1:3000: connect: connection refused',
        'read: connection reset by peer',
        'write: broken pipe',
        'unexpected EOF',
        'app is not in a healthy state',
        'circuit breaker is open',
        'rpc error: code = Unavailable desc = transport',
        'lookup doctor-service: no such host',
      ] as const
    ).map((message): [string, SidecarAnswer, Verdict] => [
      `Dapr's failure "${message}": 503 with a retry soon`,
      { status: 500, contentType: JSON_TYPE, body: daprError(message) },
      { kind: 'failed', problem: UNAVAILABLE },
    ]),
    [
      "Dapr's failure on a 503 is told by its message, not its status",
      { status: 503, contentType: JSON_TYPE, body: daprError('ACL policy denied', 'ERR_PERMISSION_DENIED') },
      { kind: 'failed', problem: UNREACHABLE },
    ],
    [
      "any other Dapr failure: 502 (EOF only as a word, so 'GEOFENCE' is not one)",
      { status: 500, contentType: JSON_TYPE, body: daprError('GEOFENCE rejected') },
      { kind: 'failed', problem: UNREACHABLE },
    ],
    [
      'a Dapr failure without a message: 502',
      { status: 500, contentType: JSON_TYPE, body: JSON.stringify({ errorCode: 'ERR_DIRECT_INVOKE' }) },
      { kind: 'failed', problem: UNREACHABLE },
    ],
    [
      "the callee's own JSON 500 (no ERR_ code): relayed as read",
      { status: 500, contentType: JSON_TYPE, body: JSON.stringify({ errorCode: 'E_DB', message: 'connection refused' }) },
      { kind: 'relay' },
    ],
    [
      "the callee's own JSON 500 without an errorCode: relayed as read",
      { status: 500, contentType: JSON_TYPE, body: JSON.stringify({ message: 'timeout' }) },
      { kind: 'relay' },
    ],
    [
      'a JSON 5xx whose body is not JSON: relayed as read',
      { status: 502, contentType: JSON_TYPE, body: 'upstream gone' },
      { kind: 'relay' },
    ],
    // JSON that is not an object (a callee answering `null`, a number, a list) once threw inside the
    // stream's end handler, which nothing catches: the gateway process would have crashed.
    ...['null', '42', '"text"', '[]'].map((body): [string, SidecarAnswer, Verdict] => [
      `a JSON 5xx whose body is ${body}: relayed as read`,
      { status: 500, contentType: JSON_TYPE, body },
      { kind: 'relay' },
    ]),
    [
      'an answer that was never the sidecar’s word, read whole: relayed as read',
      { status: 200, contentType: JSON_TYPE, body: daprError('timeout') },
      { kind: 'relay' },
    ],
  ])('%s', (_, answer, verdict) => {
    expect(classifySidecarAnswer(answer)).toEqual(verdict);
  });
});

describe('no answer', () => {
  it.each<[string, SidecarAnswer, Verdict]>([
    ['the invocation timed out: 504', { failure: 'timeout' }, { kind: 'failed', problem: TIMED_OUT }],
    [
      'the sidecar is unreachable: 503 with a retry soon',
      { failure: 'unreachable' },
      { kind: 'failed', problem: { ...UNAVAILABLE, detail: 'The gateway sidecar is unreachable' } },
    ],
  ])('%s', (_, answer, verdict) => {
    expect(classifySidecarAnswer(answer)).toEqual(verdict);
  });
});
