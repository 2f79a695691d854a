import http from 'node:http';
import { pipeline } from 'node:stream';
import type { Request, RequestHandler, Response } from 'express';
import {
  currentContext,
  endSpan,
  IDENTITY_HEADERS,
  PROBLEM_CONTENT_TYPE,
  problemType,
  SpanKind,
  startSpan,
  type Logger,
} from '@caregrid/platform';
import { sendOutcome } from '@caregrid/fhir/http';
import { FHIR_BASE, requestTargetProblem, resolveRoute } from '../domain/routes.js';
import { classifySidecarAnswer, type Problem } from './sidecar-answer.js';

/** FHIR clients get every answer the gateway makes up itself as an OperationOutcome, never problem+json. */
export const isFhirPath = (path: string) => path === FHIR_BASE || path.startsWith(`${FHIR_BASE}/`);

// Never forwarded: hop-by-hop headers, identity claims (only the sidecar's
// policy may set those), Dapr's own control and caller headers, any
// client-written account of who the client is, and the client's request id and
// trace (the gateway states all of those itself).
const DROPPED_REQUEST_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
  'host',
  'dapr-api-token',
  'dapr-app-id',
  'dapr-caller-app-id',
  'dapr-callee-app-id',
  'dapr-caller-namespace',
  'forwarded',
  'x-real-ip',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
  'x-client-request-id',
  'traceparent',
  'tracestate',
  ...IDENTITY_HEADERS,
]);
const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'trailer', 'upgrade']);

export type ProxyOptions = {
  sidecarHttpPort: number;
  timeoutMs: number;
  bodyLimitBytes: number;
  logger: Logger;
  /** The client's address (from trusted proxies only), passed on as the one X-Forwarded-For value. */
  clientOf: (req: Request) => string;
};

/**
 * The headers sent upstream: the client's minus the dropped ones, plus what the
 * gateway vouches for (the client address, the scheme, the trace, the request id
 * it minted and, beside it, the client's own).
 */
export function upstreamHeaders(
  incoming: http.IncomingHttpHeaders,
  vouched: { clientAddress: string; proto: string; host?: string; traceparent?: string; requestId?: string; clientRequestId?: string },
): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (!DROPPED_REQUEST_HEADERS.has(name) && value !== undefined) headers[name] = value;
  }
  if (vouched.traceparent) headers.traceparent = vouched.traceparent;
  if (vouched.requestId) headers['x-request-id'] = vouched.requestId;
  if (vouched.clientRequestId) headers['x-client-request-id'] = vouched.clientRequestId;
  headers['x-forwarded-for'] = vouched.clientAddress;
  headers['x-forwarded-proto'] = vouched.proto;
  // The host the client addressed, for links a service writes into its answer (FHIR searchset next links).
  if (vouched.host) headers['x-forwarded-host'] = vouched.host;
  return headers;
}

/**
 * The first header whose value the sidecars cannot carry: invocation turns headers into gRPC
 * metadata, which must be valid UTF-8, and Node hands bytes above 0x7F on as Latin-1. Such a
 * request got a 502 from daprd (schemathesis found it with an Idempotency-Key); it is the client's
 * input, so it is answered 400 before anything is forwarded.
 */
export function unforwardableHeader(incoming: http.IncomingHttpHeaders): string | undefined {
  for (const [name, value] of Object.entries(incoming)) {
    if (value !== undefined && [value].flat().some((v) => /[^\t\x20-\x7e]/.test(v))) return name;
  }
  return undefined;
}

function sendProblem(
  res: Response,
  status: number,
  slug: string,
  title: string,
  detail: string,
  headers: Record<string, string> = {},
): void {
  if (res.writableEnded) return; // already answered (e.g. 413 while the upload was still arriving)
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (isFhirPath(res.req.path)) {
    sendOutcome(res, { type: problemType(slug), title, status, detail }, headers);
    return;
  }
  res
    .status(status)
    .set(headers)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify({ type: problemType(slug), title, status, detail, instance: res.req.originalUrl }));
}

export const sendProblemOf = (res: Response, { status, slug, title, detail, headers }: Problem) =>
  sendProblem(res, status, slug, title, detail, headers);

/**
 * Forwards `/api/...` requests by Dapr service invocation through this app's
 * own sidecar (whose pipeline verifies the JWT), streaming bodies both ways.
 * Plain HTTP rather than the SDK's invoker: the SDK buffers and re-serialises
 * bodies, which would break PDFs and large uploads.
 */
export function proxyToServices(options: ProxyOptions): RequestHandler {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  return (req, res, next) => {
    const badTarget = requestTargetProblem(req.originalUrl);
    if (badTarget) {
      sendProblem(res, 400, 'invalid', 'Invalid request', badTarget);
      return;
    }
    const target = resolveRoute(req.path);
    if (!target) {
      next();
      return;
    }
    const unforwardable = unforwardableHeader(req.headers);
    if (unforwardable) {
      sendProblem(res, 400, 'invalid', 'Invalid request', `The ${unforwardable} header may hold printable ASCII characters only`);
      return;
    }
    const declared = Number(req.header('content-length') ?? 0);
    if (declared > options.bodyLimitBytes) {
      sendProblem(res, 413, 'payload-too-large', 'Payload too large', `The body exceeds ${options.bodyLimitBytes} bytes`);
      return;
    }
    forward(req, res, target, options, agent);
  };
}

function forward(req: Request, res: Response, target: { appId: string; path: string }, options: ProxyOptions, agent: http.Agent): void {
  const context = currentContext();
  // Ends when the answer has gone to the client (or the client left).
  const { span, traceparent } = startSpan(`invoke ${target.appId} ${req.method}`, SpanKind.CLIENT, {
    'rpc.system': 'dapr',
    'rpc.service': target.appId,
    'http.request.method': req.method,
  });
  res.on('close', () => {
    span.setAttribute('http.response.status_code', res.statusCode);
    endSpan(span, res.statusCode >= 500 ? `HTTP ${res.statusCode}` : undefined);
  });
  const headers = upstreamHeaders(req.headers, {
    clientAddress: options.clientOf(req),
    proto: req.protocol,
    host: req.header('host'),
    traceparent,
    requestId: context?.requestId,
    clientRequestId: context?.clientRequestId,
  });

  const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
  const upstream = http.request({
    host: '127.0.0.1',
    port: options.sidecarHttpPort,
    method: req.method,
    path: `/v1.0/invoke/${target.appId}/method${target.path}${query}`,
    headers,
    agent,
    timeout: options.timeoutMs,
  });

  upstream.on('response', (answer) => {
    const status = answer.statusCode ?? 502;
    const contentType = String(answer.headers['content-type'] ?? '');
    // The callee's answers stream through; what may be the sidecar's own word is read whole, then judged.
    if (classifySidecarAnswer({ status, contentType }).kind === 'stream') {
      streamThrough(answer, status, res);
      return;
    }
    readWhole(answer, (body) => {
      const verdict = classifySidecarAnswer({ status, contentType, body, method: req.method, allow: String(answer.headers.allow ?? '') });
      if (verdict.kind === 'failed') options.logger.warn({ appId: target.appId, status, body: body.slice(0, 500) }, 'invocation failed');
      if (verdict.kind === 'refused' || verdict.kind === 'failed') sendProblemOf(res, verdict.problem);
      else res.status(status).set('content-type', contentType).send(body);
    });
  });

  upstream.on('timeout', () => upstream.destroy(new Error('upstream timeout')));
  upstream.on('error', (error) => {
    options.logger.warn({ err: error, appId: target.appId }, 'forwarding failed');
    sendProblemOf(res, classifySidecarAnswer({ failure: error.message === 'upstream timeout' ? 'timeout' : 'unreachable' }).problem);
  });

  // Count streamed bytes: a client may send more than it declared, or no length at all.
  let received = 0;
  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > options.bodyLimitBytes) {
      req.unpipe(upstream);
      upstream.destroy();
      sendProblem(res, 413, 'payload-too-large', 'Payload too large', `The body exceeds ${options.bodyLimitBytes} bytes`);
    }
  });
  req.pipe(upstream);
}

/** The callee's answer, headers and body, as it comes. */
function streamThrough(answer: http.IncomingMessage, status: number, res: Response): void {
  for (const [name, value] of Object.entries(answer.headers)) {
    // What the gateway set already is its own word (no-store on /api, HSTS): a service does not replace it.
    if (!DROPPED_RESPONSE_HEADERS.has(name) && value !== undefined && !res.hasHeader(name)) res.setHeader(name, value);
  }
  res.status(status);
  // An answer cut short upstream (daprd aborts one whose stream broke or timed out) is cut
  // short here too: the client must not receive a truncated PDF as if it were whole.
  pipeline(answer, res, (error) => {
    if (error && !res.destroyed) res.destroy();
  });
}

/** The sidecar's own words are short (an error, a refusal). */
function readWhole(answer: http.IncomingMessage, then: (body: string) => void): void {
  const chunks: Buffer[] = [];
  answer.on('data', (chunk: Buffer) => chunks.push(chunk));
  answer.on('end', () => then(Buffer.concat(chunks).toString('utf8')));
}
