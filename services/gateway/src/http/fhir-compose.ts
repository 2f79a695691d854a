import http from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import {
  COMPOSE_LIMITS,
  everythingBundle,
  everythingSearches,
  includeTargets,
  isIncludeParameter,
  nextCursorOf,
  parseIncludes,
  revincludeSearches,
  withIncluded,
  type Bundle,
  type Gathered,
  type Resource,
  type SearchSpec,
} from '@caregrid/fhir';
import { sendOutcome, sendResource } from '@caregrid/fhir/http';
import { currentContext, endSpan, problemType, SpanKind, startSpan, toProblem } from '@caregrid/platform';
import { FHIR_BASE, requestTargetProblem, resolveRoute } from '../domain/routes.js';
import { onlyGet } from './fhir.js';
import { sendProblemOf, unforwardableHeader, upstreamHeaders, type ProxyOptions } from './proxy.js';
import { classifySidecarAnswer, type Problem } from './sidecar-answer.js';

/**
 * `_include`, `_revinclude` and `Patient/{id}/$everything`, composed here from the services' own
 * FHIR reads and searches, each invoked through this gateway's sidecar with the caller's token:
 * every part is checked by the policy and by the owning service against the caller, so what
 * the caller may not read is simply left out. (Composed inside a service, the peer invocation
 * would carry that service's rights, not the caller's.) What to fetch and how the Bundle is put
 * together is @caregrid/fhir's include.ts; this is the asking.
 */

/** A service's (or its sidecar's) answer to one invocation, read whole. */
type Answer = { status: number; contentType: string; body: string; allow: string };

/** Ends a composition with what the client gets: a service's own answer as it came, or the gateway's problem. */
class Stop {
  constructor(readonly outcome: { answer: Answer } | { problem: Problem } | { invalid: { parameter: string; message: string } }) {}
}

/** Statuses of a part that the caller may not see (or that is gone): left out, not an error. */
const LEFT_OUT = new Set([403, 404, 410]);
/** How many parts are asked for at once. */
const PARALLEL = 8;
/** A FHIR id (the $everything path's): anything else is not a composition, and the proxy's 404/405 answers it. */
const EVERYTHING = /^\/api\/fhir\/Patient\/([A-Za-z0-9.-]{1,64})\/\$everything$/;
const TYPE_SEARCH = /^\/api\/fhir\/([A-Z][A-Za-z]+)$/;
/** Headers of the client's request that do not belong on the gateway's own GETs of the parts. */
const NOT_FOR_PARTS = [
  'content-length',
  'content-type',
  'transfer-encoding',
  'if-none-match',
  'if-modified-since',
  'range',
  'accept-encoding',
];

type Composition = { kind: 'search'; type: string; query: URLSearchParams } | { kind: 'everything'; id: string; query: URLSearchParams };

function compositionOf(req: Request): Composition | undefined {
  let path: string;
  try {
    path = decodeURIComponent(req.path);
  } catch {
    return undefined; // the proxy answers malformed paths
  }
  const at = req.originalUrl.indexOf('?');
  const query = new URLSearchParams(at < 0 ? '' : req.originalUrl.slice(at + 1));
  const everything = EVERYTHING.exec(path);
  if (everything) return { kind: 'everything', id: everything[1]!, query };
  const search = TYPE_SEARCH.exec(path);
  if (search && req.method === 'GET' && [...query.keys()].some(isIncludeParameter)) return { kind: 'search', type: search[1]!, query };
  return undefined;
}

export function fhirComposition(options: ProxyOptions): RequestHandler {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  return (req, res, next) => {
    const composition = compositionOf(req);
    if (!composition) {
      next();
      return;
    }
    const refusal = requestTargetProblem(req.originalUrl) ?? unforwardableProblem(req);
    if (refusal) {
      sendOutcome(res, { type: problemType('invalid'), title: 'Invalid request', status: 400, detail: refusal });
      return;
    }
    if (composition.kind === 'everything' && req.method !== 'GET') {
      onlyGet(req, res, next);
      return;
    }
    const parts = new Parts(req, options, agent);
    const composed = composition.kind === 'search' ? searchWithIncludes(parts, composition) : everything(parts, composition);
    composed.then(
      (bundle) => sendResource(res, bundle),
      (error: unknown) => {
        if (error instanceof Stop) {
          stop(res, error);
          return;
        }
        const { problem, headers, unexpected } = toProblem(error, req.originalUrl);
        if (unexpected) options.logger.error({ err: error }, 'FHIR composition failed');
        sendOutcome(res, problem, headers);
      },
    );
  };
}

function unforwardableProblem(req: Request): string | undefined {
  const header = unforwardableHeader(req.headers);
  return header && `The ${header} header may hold printable ASCII characters only`;
}

function stop(res: Response, { outcome }: Stop): void {
  if ('invalid' in outcome) {
    const { parameter, message } = outcome.invalid;
    sendOutcome(res, {
      type: problemType('invalid'),
      title: 'Invalid request',
      status: 400,
      errors: [{ path: `query.${parameter}`, message }],
    });
    return;
  }
  if ('problem' in outcome) {
    sendProblemOf(res, outcome.problem);
    return;
  }
  const { status, contentType, body, allow } = outcome.answer;
  res.status(status).set('content-type', contentType);
  if (allow) res.set('allow', allow);
  res.send(body);
}

/** A search with include parameters: the page from the owning service, then what it includes. */
async function searchWithIncludes(parts: Parts, { type, query }: { type: string; query: URLSearchParams }): Promise<Bundle> {
  const request = parseIncludes(type, query);
  // The search itself first, include parameters aside: a caller without a valid token gets the 401, one
  // whose role may not search this type the 403, a bad search parameter its 400, before any include is judged.
  const page = await parts.primary<Bundle>(`${FHIR_BASE}/${type}`, 'forwarded' in request ? request.forwarded : withoutIncludes(query));
  if (!('forwarded' in request)) throw refused(request.parameter, request.message);
  if (request.forwarded.get('_summary') === 'count') return withIncluded(page, [], { given: request.given });
  const matches = matchesOf(page);
  const [included, gathered] = await Promise.all([
    inBatches(includeTargets(matches, request.includes), (target) => parts.read(target.type, target.id)),
    inBatches(revincludeSearches(matches, request.revincludes), (search) => parts.gather(search, COMPOSE_LIMITS.revincludePerMatch)),
  ]);
  return withIncluded(
    page,
    [...included.filter((resource): resource is Resource => resource !== undefined), ...gathered.flatMap((g) => g.resources)],
    { given: request.given, gathered },
  );
}

/** `Patient/{id}/$everything`: the Patient as the caller may read it (else its 404), and what they may read of its appointments and invoices. */
async function everything(parts: Parts, { id, query }: { id: string; query: URLSearchParams }): Promise<Bundle> {
  const patient = await parts.primary<Resource>(`${FHIR_BASE}/Patient/${id}`, new URLSearchParams());
  const unsupported = [...query.keys()].find((name) => name !== '_format');
  if (unsupported) throw refused(unsupported, 'not supported by $everything here (it takes no parameters)');
  const gathered = await inBatches(everythingSearches(patient.id ?? id), (search) =>
    parts.gather(search, COMPOSE_LIMITS.everythingPerSearch),
  );
  return everythingBundle(patient, gathered, { selfUrl: parts.publicUrl() });
}

const refused = (parameter: string, message: string) => new Stop({ invalid: { parameter, message } });

function withoutIncludes(query: URLSearchParams): URLSearchParams {
  return new URLSearchParams([...query].filter(([name]) => !isIncludeParameter(name)));
}

const matchesOf = (bundle: Bundle): Resource[] =>
  (bundle.entry ?? []).filter((entry) => entry.search.mode === 'match').map((entry) => entry.resource);

async function inBatches<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let nextIndex = 0;
  const worker = async () => {
    while (nextIndex < items.length) {
      const index = nextIndex++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  return results;
}

/** The parts of one client request, each asked of its owning service through this gateway's sidecar with the caller's headers. */
class Parts {
  constructor(
    private readonly req: Request,
    private readonly options: ProxyOptions,
    private readonly agent: http.Agent,
  ) {}

  /** The gateway URL the client asked (for a Bundle the gateway makes itself). */
  publicUrl(): string {
    const host = this.req.header('host') ?? '';
    const safeHost = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host) ? host : 'localhost';
    return `${this.req.protocol === 'https' ? 'https' : 'http'}://${safeHost}${this.req.originalUrl}`;
  }

  /** What the client asked for first: anything but a 200 is the client's answer, as the service (or the sidecar) gave it. */
  async primary<T extends Bundle | Resource>(publicPath: string, query: URLSearchParams): Promise<T> {
    const answer = await this.ask(publicPath, query);
    if (answer.status !== 200) throw this.stopWith(answer);
    return JSON.parse(answer.body) as T;
  }

  /** One referenced resource, or undefined when the caller may not read it (or it is gone). */
  async read(type: string, id: string): Promise<Resource | undefined> {
    const answer = await this.ask(`${FHIR_BASE}/${type}/${id}`, new URLSearchParams());
    if (answer.status === 200) return JSON.parse(answer.body) as Resource;
    if (LEFT_OUT.has(answer.status)) return undefined;
    throw this.stopWith(answer);
  }

  /** A search's matches, page after page, up to `limit`, with its total; none when the caller may not search it. */
  async gather(search: SearchSpec, limit: number): Promise<Gathered> {
    const resources: Resource[] = [];
    let total = 0;
    let cursor: string | undefined;
    do {
      const query = new URLSearchParams({ ...search.params, _count: String(Math.min(COMPOSE_LIMITS.pageSize, limit - resources.length)) });
      if (cursor) query.set('_cursor', cursor);
      const answer = await this.ask(`${FHIR_BASE}/${search.type}`, query);
      if (LEFT_OUT.has(answer.status)) return { search, resources: [], total: 0 };
      if (answer.status !== 200) throw this.stopWith(answer);
      const page = JSON.parse(answer.body) as Bundle;
      if (cursor === undefined) total = page.total;
      resources.push(...matchesOf(page));
      cursor = nextCursorOf(page);
    } while (cursor !== undefined && resources.length < limit);
    return { search, resources, total };
  }

  private stopWith(answer: Answer): Stop {
    const verdict = classifySidecarAnswer({ ...answer, method: 'GET' });
    if (verdict.kind === 'failed')
      this.options.logger.warn({ status: answer.status, body: answer.body.slice(0, 500) }, 'invocation failed');
    return verdict.kind === 'refused' || verdict.kind === 'failed' ? new Stop({ problem: verdict.problem }) : new Stop({ answer });
  }

  private ask(publicPath: string, query: URLSearchParams): Promise<Answer> {
    const target = resolveRoute(publicPath);
    if (!target) throw new Error(`no route serves ${publicPath}`);
    const context = currentContext();
    const { span, traceparent } = startSpan(`invoke ${target.appId} GET`, SpanKind.CLIENT, {
      'rpc.system': 'dapr',
      'rpc.service': target.appId,
      'http.request.method': 'GET',
    });
    const headers = upstreamHeaders(this.req.headers, {
      clientAddress: this.options.clientOf(this.req),
      proto: this.req.protocol,
      host: this.req.header('host'),
      traceparent,
      requestId: context?.requestId,
      clientRequestId: context?.clientRequestId,
    });
    for (const name of NOT_FOR_PARTS) delete headers[name];
    headers.accept = 'application/fhir+json';
    const search = query.toString();
    return new Promise<Answer>((resolve, reject) => {
      const upstream = http.request({
        host: '127.0.0.1',
        port: this.options.sidecarHttpPort,
        method: 'GET',
        path: `/v1.0/invoke/${target.appId}/method${target.path}${search ? `?${search}` : ''}`,
        headers,
        agent: this.agent,
        timeout: this.options.timeoutMs,
      });
      upstream.on('response', (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const status = answer.statusCode ?? 502;
          span.setAttribute('http.response.status_code', status);
          endSpan(span, status >= 500 ? `HTTP ${status}` : undefined);
          resolve({
            status,
            contentType: String(answer.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString('utf8'),
            allow: String(answer.headers.allow ?? ''),
          });
        });
        answer.on('error', reject);
      });
      upstream.on('timeout', () => upstream.destroy(new Error('upstream timeout')));
      upstream.on('error', (error) => {
        endSpan(span, error);
        this.options.logger.warn({ err: error, appId: target.appId }, 'forwarding failed');
        reject(
          new Stop({
            problem: classifySidecarAnswer({ failure: error.message === 'upstream timeout' ? 'timeout' : 'unreachable' }).problem,
          }),
        );
      });
      upstream.end();
    });
  }
}
