import { serviceBacklog, type ServiceBacklog } from '@caregrid/contracts';
import type { RequestHandler } from 'express';
import type { OutboxStore } from '../data/outbox.js';
import type { DeadLetterStore } from '../events/dead-letters.js';
import { ApiRouter } from './routes.js';

export type BacklogSources = { outbox?: OutboxStore; deadLetters?: DeadLetterStore };

/** What is waiting in a service: its outbox (not yet published, parked) and its parked dead letters. */
export function readBacklog(service: string, sources: BacklogSources): () => Promise<ServiceBacklog> {
  return async () => {
    const [outbox, deadLetters] = await Promise.all([sources.outbox?.backlog() ?? null, sources.deadLetters?.backlog() ?? null]);
    return { service, at: new Date().toISOString(), outbox, deadLetters };
  };
}

/** `GET /ops/backlog` (admin, through the gateway as `/api/ops/<app-id>/backlog`): the clinic app's Operations screen reads it. */
export function backlogRoutes(appId: string, read: () => Promise<ServiceBacklog>): ApiRouter {
  return ApiRouter.forService(appId).add({
    method: 'get',
    path: '/ops/backlog',
    summary: 'What waits in this service (admin): outbox events not yet published or parked, parked dead letters, the oldest of each',
    tags: ['operations'],
    responses: {
      200: { description: 'The backlog now', schema: serviceBacklog },
      403: { description: 'Admins only' },
      503: { description: 'The database is unavailable' },
    },
    handler: async ({ res }) => {
      res.json(await read());
    },
  });
}

/** Label values from event envelopes: only what Prometheus' text format cannot misread. */
const label = (value: string) => value.replace(/[^\w.-]/g, '_');

const ageSeconds = (at: string | null, now: number) => (at === null ? 0 : Math.max(0, (now - Date.parse(at)) / 1000));

/**
 * The backlog as Prometheus gauges on `GET /metrics` (scraped on the app's port, never routed by
 * the gateway). What to alert on: `caregrid_dead_letters_parked > 0` for minutes,
 * `caregrid_dead_letters_poison > 0`, `caregrid_outbox_oldest_pending_age_seconds > 60`,
 * `caregrid_outbox_parked > 0`.
 */
export function metricsHandler(read: () => Promise<ServiceBacklog>): RequestHandler {
  return async (_req, res) => {
    let backlog: ServiceBacklog;
    try {
      backlog = await read();
    } catch {
      res.status(503).type('text/plain').send('# backlog unavailable: the database does not answer\n');
      return;
    }
    const now = Date.parse(backlog.at);
    const service = `service="${backlog.service}"`;
    const lines: string[] = [];
    const gauge = (name: string, help: string, samples: [labels: string, value: number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...samples.map(([labels, value]) => `${name}{${labels}} ${value}`));
    };
    if (backlog.outbox) {
      gauge('caregrid_outbox_pending', 'Outbox events not yet published', [[service, backlog.outbox.pending]]);
      gauge('caregrid_outbox_parked', 'Outbox events parked after repeated publish failures', [[service, backlog.outbox.parked]]);
      gauge('caregrid_outbox_oldest_pending_age_seconds', 'Age of the oldest unpublished outbox event', [
        [service, ageSeconds(backlog.outbox.oldestPendingAt, now)],
      ]);
    }
    if (backlog.deadLetters) {
      const { deadLetters } = backlog;
      gauge('caregrid_dead_letters_parked', 'Parked dead letters, by original topic', [
        [`${service},topic="all"`, deadLetters.parked],
        ...deadLetters.byTopic.map((t): [string, number] => [`${service},topic="${label(t.topic)}"`, t.parked]),
      ]);
      gauge('caregrid_dead_letters_poison', 'Dead letters the automatic re-drive gave up on', [[service, deadLetters.poison]]);
      gauge('caregrid_dead_letters_oldest_age_seconds', 'Age of the oldest parked dead letter', [
        [service, ageSeconds(deadLetters.oldestParkedAt, now)],
      ]);
    }
    res.type('text/plain; version=0.0.4').send(`${lines.join('\n')}\n`);
  };
}
