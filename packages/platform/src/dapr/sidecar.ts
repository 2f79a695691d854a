import { CommunicationProtocolEnum, DaprClient, HttpMethod, LogLevel } from '@dapr/dapr';
import { randomUUID } from 'node:crypto';
import { propagationHeaders } from '../context.js';
import { DependencyUnavailableError } from '../errors.js';
import { endSpan, inSpan, SpanKind, startSpan } from '../tracing.js';

/**
 * The service's only door to the outside world: its own Dapr sidecar.
 *
 * Built on @dapr/dapr's DaprClient over HTTP (invoke, publish, secrets,
 * bindings). The SDK hides the status of a successful invocation and throws a
 * JSON-encoded Error for any other, so `invoke` decodes that error into a
 * plain result: a peer's 404 is an answer, not an exception. Only failures of
 * Dapr itself (peer unreachable, resiliency timeout, open circuit) become
 * DependencyUnavailableError.
 */
export type SidecarOptions = {
  appId: string;
  httpPort: number;
  pubsubName: string;
  secretStoreName: string;
};

export type InvokeResult<T> = { ok: true; body: T } | { ok: false; status: number; body: unknown };

export type PublishedEvent<T> = {
  topic: string;
  type: string;
  data: T;
  /** Defaults to a new UUID; pass the outbox row id so redelivery dedupes downstream. */
  id?: string;
  subject?: string;
  time?: Date;
  /** Kafka message key: events with the same key stay in order (one partition). */
  partitionKey?: string;
};

/** An event with its id, published inside the trace its writer kept (an outbox row's). */
export type TracedEvent = PublishedEvent<unknown> & { id: string; traceparent?: string };

/** How long a bulk publish may take before its events count as failed (a claim lasts 30 s). */
const BULK_PUBLISH_TIMEOUT_MS = 10_000;

type SdkError = { status: number; error_msg: string };

/**
 * The pub/sub refused this very event, not for want of a broker: daprd's Kafka client (sarama)
 * found it larger than the producer may send, or the broker answered that it is too large or an
 * invalid record. Sent again it fails the same way, whatever the broker's health. Still a pub/sub
 * failure (a 503) to anyone who does not tell it apart.
 */
export class EventRefusedError extends DependencyUnavailableError {}

/**
 * sarama's words (IBM/sarama 1.48, errors.go and async_producer.go, as daprd 1.18 passes them on)
 * for a message refused for what it is. An outage reads otherwise ("client has run out of available
 * brokers", "circuit breaker is open", a timeout); outbox-relay.test.ts pins these against the real
 * daprd and Kafka, so an upgrade that rewords them fails a test instead of silently never parking.
 */
const MESSAGE_REFUSED =
  /larger than configured Producer\.MaxMessageBytes|kafka server: (Message was too large|The request included message batch larger than|This record has failed the validation)/;

// The sidecar shares the app's network namespace (host, pod, or compose
// `network_mode: service:`), so loopback is where it always is.
const SIDECAR_HOST = '127.0.0.1';
/** How long a streamed binding call may take to start answering (the resiliency timeouts are 5 s). */
const BINDING_ANSWER_TIMEOUT_MS = 10_000;

function decodeSdkError(error: unknown): SdkError | undefined {
  try {
    const parsed = JSON.parse((error as Error).message) as Partial<SdkError>;
    return typeof parsed.status === 'number' ? { status: parsed.status, error_msg: String(parsed.error_msg ?? '') } : undefined;
  } catch {
    return undefined;
  }
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Dapr's own error bodies carry an ERR_* code; an app's error body does not. */
function isDaprFailure(body: unknown): boolean {
  return typeof body === 'object' && body !== null && /^ERR_/.test(String((body as { errorCode?: unknown }).errorCode ?? ''));
}

export class Sidecar {
  readonly client: DaprClient;

  constructor(readonly options: SidecarOptions) {
    this.client = new DaprClient({
      daprHost: SIDECAR_HOST,
      daprPort: String(options.httpPort),
      communicationProtocol: CommunicationProtocolEnum.HTTP,
      logger: { level: LogLevel.Error },
    });
  }

  /** Resolves once the sidecar reports healthy (components loaded). */
  async waitUntilReady(): Promise<void> {
    await this.client.start();
  }

  async healthy(): Promise<boolean> {
    return this.client.health.isHealthy();
  }

  async invoke<T = unknown>(
    appId: string,
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<InvokeResult<T>> {
    const attributes = { 'rpc.system': 'dapr', 'rpc.service': appId, 'http.request.method': method };
    return inSpan(`invoke ${appId} ${method}`, SpanKind.CLIENT, attributes, async (span) => {
      const result = await this.invokeOnce<T>(appId, method, path, body);
      span.setAttribute('http.response.status_code', result.ok ? 200 : result.status);
      return result;
    });
  }

  private async invokeOnce<T>(
    appId: string,
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<InvokeResult<T>> {
    const headers = propagationHeaders();
    // A read whose connection to our own sidecar broke (e.g. a reused keep-alive socket the
    // sidecar had just closed) is safe to send once more; a write is not.
    const attempts = method === 'GET' ? 2 : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.client.invoker.invoke(appId, path.replace(/^\//, ''), method as HttpMethod, body as object, { headers });
        return { ok: true, body: result as T };
      } catch (error) {
        const decoded = decodeSdkError(error);
        if (!decoded) {
          if (attempt < attempts) continue;
          throw new DependencyUnavailableError(`dapr sidecar (invoking ${appId})`, error);
        }
        const errorBody = parseBody(decoded.error_msg);
        if (isDaprFailure(errorBody)) throw new DependencyUnavailableError(appId, errorBody);
        return { ok: false, status: decoded.status, body: errorBody };
      }
    }
  }

  /** Publishes a CloudEvent we build ourselves, so its id and type are ours. */
  async publish<T>(event: PublishedEvent<T>): Promise<string> {
    const attributes = { 'messaging.system': 'dapr', 'messaging.destination.name': event.topic, 'cloudevents.event_type': event.type };
    return inSpan(`publish ${event.topic}`, SpanKind.PRODUCER, attributes, () => this.publishOnce(event));
  }

  private async publishOnce<T>(event: PublishedEvent<T>): Promise<string> {
    const id = event.id ?? randomUUID();
    // With traceid present daprd keeps our traceparent (the producer span) instead of its own;
    // the subscriber's sidecar continues it when it delivers.
    const cloudEvent = this.cloudEventOf(event, id, propagationHeaders().traceparent);
    const result = await this.client.pubsub.publish(this.options.pubsubName, event.topic, cloudEvent, {
      contentType: 'application/cloudevents+json',
      metadata: event.partitionKey ? { partitionKey: event.partitionKey } : undefined,
    });
    if (result.error) {
      const daprError = parseBody(decodeSdkError(result.error)?.error_msg ?? '') as { errorCode?: unknown; message?: unknown };
      const refused = daprError.errorCode === 'ERR_PUBSUB_PUBLISH_MESSAGE' && MESSAGE_REFUSED.test(String(daprError.message));
      throw new (refused ? EventRefusedError : DependencyUnavailableError)(`pub/sub ${this.options.pubsubName}`, result.error);
    }
    return id;
  }

  /**
   * Publishes events of one topic in one request (daprd's bulk publish): a claim of the outbox goes
   * out in one round trip instead of one each. Every event still gets its producer span, in the
   * trace it names, and keeps its partition key. Answers the events that failed, each with its
   * error (EventRefusedError when the broker refused that event for itself); the others were
   * accepted. Plain HTTP: the SDK's publishBulk looks failed entries up as `entryID` where daprd
   * answers `entryId`, so it would report a partial failure as a success.
   */
  async publishBulk(topic: string, events: TracedEvent[]): Promise<Map<string, Error>> {
    const attributes = { 'messaging.system': 'dapr', 'messaging.destination.name': topic, 'messaging.batch.message_count': events.length };
    const spans = events.map((event) =>
      startSpan(`publish ${topic}`, SpanKind.PRODUCER, { ...attributes, 'cloudevents.event_type': event.type }, event.traceparent),
    );
    const entries = events.map((event, i) => ({
      entryId: event.id,
      event: this.cloudEventOf(event, event.id, spans[i]!.traceparent),
      contentType: 'application/cloudevents+json',
      metadata: event.partitionKey ? { partitionKey: event.partitionKey } : {},
    }));
    const failed = await this.sendBulk(topic, entries).catch((error: unknown) => {
      const unavailable = new DependencyUnavailableError(`pub/sub ${this.options.pubsubName}`, error);
      return new Map<string, Error>(events.map((event) => [event.id, unavailable]));
    });
    events.forEach((event, i) => endSpan(spans[i]!.span, failed.get(event.id)));
    return failed;
  }

  private async sendBulk(topic: string, entries: { entryId: string }[]): Promise<Map<string, Error>> {
    const url = `http://${SIDECAR_HOST}:${this.options.httpPort}/v1.0-alpha1/publish/bulk/${this.options.pubsubName}/${encodeURIComponent(topic)}`;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(entries),
      signal: AbortSignal.timeout(BULK_PUBLISH_TIMEOUT_MS),
    });
    const text = await response.text();
    if (response.ok) return new Map();
    const body = parseBody(text) as { failedEntries?: { entryId?: string; error?: string }[]; errorCode?: unknown; message?: unknown };
    const failedEntries = Array.isArray(body.failedEntries) ? body.failedEntries : [];
    const failure = (reason: string | undefined) =>
      new (reason !== undefined && MESSAGE_REFUSED.test(reason) ? EventRefusedError : DependencyUnavailableError)(
        `pub/sub ${this.options.pubsubName}`,
        reason ?? text,
      );
    // No entry named: the request failed as a whole (scopes, the component, the broker), every event with it.
    if (failedEntries.length === 0) return new Map(entries.map((entry) => [entry.entryId, failure(undefined)]));
    return new Map(failedEntries.map((entry) => [String(entry.entryId), failure(entry.error)]));
  }

  private cloudEventOf(event: PublishedEvent<unknown>, id: string, traceparent: string | undefined) {
    return {
      specversion: '1.0',
      id,
      source: this.options.appId,
      type: event.type,
      subject: event.subject,
      time: (event.time ?? new Date()).toISOString(),
      datacontenttype: 'application/json',
      traceparent,
      traceid: traceparent,
      data: event.data,
    };
  }

  /** A multi-valued secret (all keys of one secret), from the service's secret store unless another is named. */
  async getSecret(name: string, store = this.options.secretStoreName): Promise<Record<string, string>> {
    try {
      return (await this.client.secret.get(store, name)) as Record<string, string>;
    } catch (error) {
      throw new DependencyUnavailableError(`secret store ${store}`, error);
    }
  }

  async invokeBinding<T = unknown>(name: string, operation: string, data: unknown, metadata: Record<string, string> = {}): Promise<T> {
    return inSpan(`binding ${name} ${operation}`, SpanKind.CLIENT, { 'rpc.system': 'dapr', 'rpc.service': name }, async () => {
      try {
        return (await this.client.binding.send(name, operation, data, metadata)) as T;
      } catch (error) {
        throw new DependencyUnavailableError(`binding ${name}`, error);
      }
    });
  }

  /**
   * An output binding whose answer is binary (e.g. a stored PDF), as a stream.
   * Plain HTTP to the sidecar: the SDK decodes every response body as text,
   * which corrupts binary data. Resolves undefined when the binding reports an
   * error (e.g. no such file).
   */
  async bindingStream(name: string, operation: string, metadata: Record<string, string>): Promise<Response | undefined> {
    // The span covers the wait for the answer to begin, not the stream's transfer.
    return inSpan(`binding ${name} ${operation}`, SpanKind.CLIENT, { 'rpc.system': 'dapr', 'rpc.service': name }, () =>
      this.bindingStreamOnce(name, operation, metadata),
    );
  }

  private async bindingStreamOnce(name: string, operation: string, metadata: Record<string, string>): Promise<Response | undefined> {
    // A bound wait for the answer to begin; the body then streams for as long as it takes.
    const answered = new AbortController();
    const timer = setTimeout(
      () => answered.abort(new Error(`no answer within ${BINDING_ANSWER_TIMEOUT_MS} ms`)),
      BINDING_ANSWER_TIMEOUT_MS,
    );
    const response = await fetch(`http://${SIDECAR_HOST}:${this.options.httpPort}/v1.0/bindings/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...propagationHeaders() },
      body: JSON.stringify({ operation, metadata }),
      signal: answered.signal,
    })
      .catch((error: unknown) => {
        throw new DependencyUnavailableError(`binding ${name}`, error);
      })
      .finally(() => clearTimeout(timer));
    if (response.ok) return response;
    await response.arrayBuffer();
    return undefined;
  }

  async stop(): Promise<void> {
    await this.client.stop();
  }
}
