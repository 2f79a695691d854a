/**
 * How a span becomes the request context's traceparent, and so the parent of whatever the code
 * calls next. In-process only (an in-memory exporter); the export to Zipkin across real
 * processes is test/integration/tracing.test.ts.
 */
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, ParentBasedSampler, AlwaysOnSampler, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { newRequestContext, propagationHeaders, runWithContext } from '../src/context.js';
import { inSpan, inSpanUnder, SpanKind, spanContextOf, startSpan, traceparentOf } from '../src/tracing.js';

const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('without a tracer provider (no OTEL_EXPORTER_ZIPKIN_ENDPOINT)', () => {
  it('passes the parent traceparent on unchanged and records nothing', async () => {
    const { span, traceparent } = startSpan('x', SpanKind.CLIENT, {}, parent);
    expect(span.isRecording()).toBe(false);
    expect(traceparent).toBe(parent);
    const seen = await runWithContext(newRequestContext({ traceparent: parent }), () =>
      inSpan('y', SpanKind.CLIENT, {}, async () => propagationHeaders().traceparent),
    );
    expect(seen).toBe(parent);
  });
});

describe('with a tracer provider', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });

  beforeAll(() => trace.setGlobalTracerProvider(provider));
  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
  });
  beforeEach(() => exporter.reset());

  it('reads and writes W3C traceparents', () => {
    expect(spanContextOf(parent)).toEqual({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
      isRemote: true,
    });
    expect(spanContextOf('00-xyz')).toBeUndefined();
    const { span } = startSpan('x', SpanKind.INTERNAL, {}, parent);
    expect(traceparentOf(span)).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    span.end();
  });

  it('a span in a request is the parent of the calls made inside it, and a child of the request', async () => {
    const inner = await runWithContext(
      newRequestContext({ traceparent: parent, 'dapr-caller-app-id': 'gateway', 'x-request-id': 'r-1' }),
      () => inSpan('invoke patient-service get', SpanKind.CLIENT, { 'rpc.service': 'patient-service' }, async () => propagationHeaders()),
    );
    const [finished] = exporter.getFinishedSpans();
    expect(finished!.name).toBe('invoke patient-service get');
    expect(finished!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(inner.traceparent).toBe(`00-0af7651916cd43dd8448eb211c80319c-${finished!.spanContext().spanId}-01`);
    // The rest of the request context travels on.
    expect(inner['x-request-id']).toBe('r-1');
  });

  it('an explicit parent (an outbox row kept its request trace) wins over the current context', async () => {
    await inSpanUnder(parent, 'publish appointments', SpanKind.PRODUCER, {}, async () => undefined);
    expect(exporter.getFinishedSpans()[0]!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
  });

  it('a failure marks the span failed and is rethrown', async () => {
    await expect(inSpan('pg insert', SpanKind.CLIENT, {}, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const [failed] = exporter.getFinishedSpans();
    expect(failed!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'boom' });
  });

  it("an unsampled caller's decision is kept: nothing recorded, its traceparent passed on", () => {
    const unsampled = parent.replace(/-01$/, '-00');
    const { span, traceparent } = startSpan('x', SpanKind.SERVER, {}, unsampled);
    expect(span.isRecording()).toBe(false);
    expect(traceparent).toBe(unsampled);
  });
});
