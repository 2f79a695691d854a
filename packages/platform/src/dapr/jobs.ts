import { DependencyUnavailableError } from '../errors.js';
import { propagationHeaders } from '../context.js';
import { inSpan, SpanKind } from '../tracing.js';

/**
 * Dapr's Jobs API (daprd 1.18, the scheduler behind it) over plain HTTP to the service's own
 * sidecar: the SDK (3.18) has no Jobs client. A job fires once at `dueTime` back through the
 * sidecar as `POST /job/<name>` on the app, with `data` as the body. Beware: daprd counts a 404
 * from that route as delivered, so a service that schedules jobs must serve the route.
 */
export type ScheduledJob<T> = { name: string; dueTime: string; data: T };

/**
 * How often the scheduler tries a delivery the app did not take (app down, or an error answer),
 * and how far apart. The scheduler's own default is 3 more tries 1 s apart: an app that takes
 * longer to come back (a pod restart) would lose the job.
 */
export type JobRetry = { intervalMs: number; maxRetries: number };

// The sidecar shares the app's network namespace: loopback, as in sidecar.ts.
const SIDECAR_HOST = '127.0.0.1';

/** daprd 1.18 answers a missing job 500 DAPR_SCHEDULER_GET_JOB (or …DELETE_JOB) with the scheduler's "job not found". */
const JOB_NOT_FOUND = /job not found/i;

export class DaprJobs {
  constructor(
    private readonly httpPort: number,
    private readonly retry?: JobRetry,
  ) {}

  /** Creates or replaces the job of this name, due once at `dueAt`. */
  async schedule<T>(name: string, dueAt: Date, data: T): Promise<void> {
    const failurePolicy = this.retry
      ? { constant: { interval: `${this.retry.intervalMs / 1000}s`, maxRetries: this.retry.maxRetries } }
      : undefined;
    const { status, text } = await this.call('POST', name, { dueTime: dueAt.toISOString(), data, overwrite: true, failurePolicy });
    if (status >= 300) throw new DependencyUnavailableError(`dapr jobs (schedule ${name})`, new Error(`${status} ${text}`));
  }

  /** The job, or undefined when the scheduler has none of this name (never scheduled, fired, or deleted). */
  async get<T>(name: string): Promise<ScheduledJob<T> | undefined> {
    const { status, text } = await this.call('GET', name);
    if (status === 200) {
      const job = JSON.parse(text) as { name: string; dueTime: string; data?: { value?: T } | T };
      // The sidecar answers the data as a protobuf Any: `{"@type": …, "value": <data>}`.
      const data = job.data && typeof job.data === 'object' && 'value' in job.data ? (job.data.value as T) : (job.data as T);
      return { name: job.name, dueTime: job.dueTime, data };
    }
    if (JOB_NOT_FOUND.test(text)) return undefined;
    throw new DependencyUnavailableError(`dapr jobs (get ${name})`, new Error(`${status} ${text}`));
  }

  /** Deletes the job; a job that is not there (any more) is no failure. */
  async delete(name: string): Promise<void> {
    const { status, text } = await this.call('DELETE', name);
    if (status < 300 || JOB_NOT_FOUND.test(text)) return;
    throw new DependencyUnavailableError(`dapr jobs (delete ${name})`, new Error(`${status} ${text}`));
  }

  private call(method: 'POST' | 'GET' | 'DELETE', name: string, body?: unknown): Promise<{ status: number; text: string }> {
    return inSpan(`job ${method}`, SpanKind.CLIENT, { 'rpc.system': 'dapr' }, async () => {
      try {
        const response = await fetch(`http://${SIDECAR_HOST}:${this.httpPort}/v1.0/jobs/${encodeURIComponent(name)}`, {
          method,
          headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...propagationHeaders() },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        });
        return { status: response.status, text: await response.text() };
      } catch (error) {
        throw new DependencyUnavailableError(`dapr jobs (${method} ${name})`, error);
      }
    });
  }
}
