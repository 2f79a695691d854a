import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Attributes,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import type { TracerProvider } from '@opentelemetry/sdk-trace';
import { randomUUID } from 'node:crypto';
import { currentContext, parseTraceparent, runWithContext, type RequestContext } from './context.js';

/**
 * The service's own spans (HTTP server, invocations, database queries, publish and consume),
 * exported to Zipkin next to the sidecars' spans, all in one W3C trace.
 *
 * Spans are created at CareGrid's own seams (createServiceApp, Sidecar, the outbox relay, the
 * delivery handlers, the pg pool) rather than by monkey-patching loaded modules, which needs
 * an ESM loader hook. The current span travels as the request context's `traceparent`, the
 * same value every outgoing call already carries, so a peer (or daprd) continues our span.
 *
 * Off unless OTEL_EXPORTER_ZIPKIN_ENDPOINT is set (the run file, Compose and Kubernetes set it):
 * without a provider the API's spans record nothing and pass the parent's context on unchanged.
 * OTEL_TRACES_SAMPLER_ARG is the share of new traces recorded (default 1); a trace begun
 * elsewhere keeps its caller's decision (the sampled flag).
 */
export type Tracing = { enabled: boolean; shutdown: () => Promise<void> };

export { SpanKind };

const TRACER = 'caregrid';

let provider: TracerProvider | undefined;

export async function startTracing(service: string, env: NodeJS.ProcessEnv = process.env): Promise<Tracing> {
  const url = env.OTEL_EXPORTER_ZIPKIN_ENDPOINT;
  if (!url) return { enabled: false, shutdown: async () => undefined };
  // The SDK and the exporter are loaded only when spans are exported: ~7 MiB and ~50 ms of start-up otherwise.
  const [
    { ZipkinExporter },
    { resourceFromAttributes },
    { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider },
  ] = await Promise.all([import('@opentelemetry/exporter-zipkin'), import('@opentelemetry/resources'), import('@opentelemetry/sdk-trace')]);
  const ratio = Number(env.OTEL_TRACES_SAMPLER_ARG ?? 1);
  provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(Number.isFinite(ratio) ? ratio : 1) }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new ZipkinExporter({ url, serviceName: service }), scheduledDelayMillis: 1_000 })],
  });
  trace.setGlobalTracerProvider(provider);
  const started = provider;
  return {
    enabled: true,
    shutdown: async () => {
      await started.shutdown();
      trace.disable();
      provider = undefined;
    },
  };
}

export function tracingEnabled(): boolean {
  return provider !== undefined;
}

/** Sends the spans ended so far (tests, shutdown). */
export async function flushSpans(): Promise<void> {
  await provider?.forceFlush();
}

export function spanContextOf(traceparent: string | undefined): SpanContext | undefined {
  const parsed = parseTraceparent(traceparent);
  if (!parsed) return undefined;
  return { traceId: parsed.traceId, spanId: parsed.spanId, traceFlags: parseInt(parsed.flags, 16) & TraceFlags.SAMPLED, isRemote: true };
}

export function traceparentOf(span: Span): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${(traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0')}`;
}

export type StartedSpan = { span: Span; traceparent: string };

/** A span, child of `parent` (a traceparent; the request context's by default). */
export function startSpan(
  name: string,
  kind: SpanKind,
  attributes: Attributes = {},
  parent: string | undefined = currentContext()?.traceparent,
): StartedSpan {
  const parentContext = spanContextOf(parent);
  const span = trace
    .getTracer(TRACER)
    .startSpan(name, { kind, attributes }, parentContext ? trace.setSpanContext(ROOT_CONTEXT, parentContext) : ROOT_CONTEXT);
  // Without a provider the span is the parent's context itself: pass the parent on unchanged.
  return { span, traceparent: span.isRecording() || !parent ? traceparentOf(span) : parent };
}

/**
 * The span of one SQL statement made while serving a request, or undefined when it is not traced:
 * background work (the relay's polling: one span a second per service would bury the rest) and
 * the statements `untraced` matches (transaction control, locks). The statement text is kept:
 * CareGrid's queries are parameterised, values never in the text.
 */
export function startStatementSpan(system: 'postgresql' | 'mysql', text: string, untraced: RegExp): Span | undefined {
  if (!currentContext() || untraced.test(text)) return undefined;
  const operation = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? 'QUERY';
  return startSpan(`${system === 'postgresql' ? 'pg' : 'mysql'} ${operation}`, SpanKind.CLIENT, {
    'db.system.name': system,
    'db.operation.name': operation,
    'db.query.text': text.slice(0, 1_000),
  }).span;
}

/** Ends a span, an error (or a 5xx) marking it failed. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }
  span.end();
}

/**
 * Runs `fn` inside a new span: calls it makes carry the span's traceparent. Ends the span when
 * `fn` settles; a thrown error marks it failed and is rethrown.
 */
export async function inSpan<T>(name: string, kind: SpanKind, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return inSpanUnder(currentContext()?.traceparent, name, kind, attributes, fn);
}

/** inSpan with an explicit parent (e.g. the traceparent an outbox row kept from its request). */
export async function inSpanUnder<T>(
  parent: string | undefined,
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const { span, traceparent } = startSpan(name, kind, attributes, parent);
  const context: RequestContext = { ...(currentContext() ?? { requestId: randomUUID(), identity: {} }), traceparent };
  try {
    const result = await runWithContext(context, () => fn(span));
    endSpan(span);
    return result;
  } catch (error) {
    endSpan(span, error);
    throw error;
  }
}
