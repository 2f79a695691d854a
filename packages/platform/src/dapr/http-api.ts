import http from 'node:http';

/**
 * The part of daprd's HTTP API (v1.0) a service uses, over node:http with keep-alive: invoke,
 * publish, secrets, bindings, and the wait for the sidecar at start.
 *
 * It replaces @dapr/dapr's DaprClient, whose HTTP client alone loads the SDK's gRPC client,
 * protobuf stubs and a second express (~50 MiB resident and ~0.3 s of every service's start), and
 * keeps its contract, which Sidecar relies on: the same shape (`invoker.invoke`, `pubsub.publish`,
 * …), answers 200–399 as the parsed body (JSON, or the text), any other status thrown as an Error
 * whose message is the JSON `{ error, error_msg, status }`, a network failure thrown as it is, and
 * a failed publish returned as `{ error }`.
 */
export type DaprHttpApiOptions = { host: string; port: number; apiToken?: string };

type Request = { method: string; headers?: Record<string, string>; body?: unknown; contentType?: string };

/**
 * How often, and how many times, start() asks whether the sidecar is up: 30 s in all, as the SDK,
 * but every 100 ms, not 500 (a start waited ~250 ms on average after its sidecar was up).
 */
const STARTED_POLL_MS = 100;
const STARTED_MAX_POLLS = 300;

export class DaprHttpApi {
  private readonly agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 30_000 });

  constructor(private readonly options: DaprHttpApiOptions) {}

  readonly invoker = {
    invoke: (appId: string, methodName: string, method: string, data?: unknown, options: { headers?: Record<string, string> } = {}) =>
      this.execute(`/invoke/${appId}/method/${methodName}`, { method, headers: options.headers, body: data }),
  };

  readonly pubsub = {
    publish: async (
      pubsubName: string,
      topic: string,
      data: unknown,
      options: { contentType?: string; metadata?: Record<string, string> } = {},
    ): Promise<{ error?: unknown }> => {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(options.metadata ?? {})) query.append(`metadata.${key}`, value);
      try {
        await this.execute(`/publish/${pubsubName}/${topic}?${query}`, { method: 'POST', body: data, contentType: options.contentType });
        return {};
      } catch (error) {
        return { error };
      }
    },
  };

  readonly secret = {
    get: (store: string, name: string) => this.execute(`/secrets/${store}/${name}`, { method: 'GET' }),
  };

  readonly binding = {
    send: (name: string, operation: string, data: unknown, metadata: Record<string, string> = {}) =>
      this.execute(`/bindings/${name}`, { method: 'POST', body: { operation, data, metadata } }),
  };

  readonly health = {
    isHealthy: async (): Promise<boolean> => {
      try {
        return Boolean(await this.execute('/metadata', { method: 'GET' }));
      } catch {
        return false;
      }
    },
  };

  /** Resolves once the sidecar answers its metadata API; throws after 30 s without. */
  async start(): Promise<void> {
    for (let poll = 0; !(await this.health.isHealthy()); poll++) {
      if (poll >= STARTED_MAX_POLLS) throw new Error('DAPR_SIDECAR_COULD_NOT_BE_STARTED');
      await new Promise((resolve) => setTimeout(resolve, STARTED_POLL_MS));
    }
  }

  async stop(): Promise<void> {
    this.agent.destroy();
  }

  private execute(path: string, request: Request): Promise<unknown> {
    const headers: Record<string, string> = { ...request.headers };
    if (this.options.apiToken) headers['dapr-api-token'] = this.options.apiToken;
    let payload: string | Buffer | undefined;
    // As the SDK: no body for a falsy one; JSON for objects, text for scalars, bytes as they are.
    if (request.body) {
      const type = request.contentType ?? contentTypeOf(request.body);
      payload =
        type === 'text/plain'
          ? String(request.body)
          : type.endsWith('json')
            ? JSON.stringify(request.body)
            : Buffer.from(request.body as Uint8Array);
      headers['content-type'] = type;
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: this.options.host, port: this.options.port, path: `/v1.0${path}`, method: request.method, headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 200 && status <= 399) resolve(parseBody(text));
            else reject(new Error(JSON.stringify({ error: res.statusMessage, error_msg: text, status })));
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
}

function contentTypeOf(body: unknown): string {
  if (typeof body === 'string' || typeof body === 'number' || typeof body === 'boolean') return 'text/plain';
  if (Buffer.isBuffer(body) || ArrayBuffer.isView(body)) return 'application/octet-stream';
  const isCloudEvent = ['id', 'source', 'type', 'specversion'].every((key) => Object.hasOwn(body as object, key));
  return isCloudEvent ? 'application/cloudevents+json' : 'application/json';
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
