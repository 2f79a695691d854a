/** What an operator scrapes and alerts on: the backlog as Prometheus gauges (an app in process, no servers). */
import type { Server } from 'node:http';
import type { ServiceBacklog } from '@caregrid/contracts';
import { metricsHandler } from '../src/http/backlog.js';
import express from 'express';

describe('GET /metrics', () => {
  let server: Server;
  let base: string;
  let backlog: ServiceBacklog | Error;

  beforeAll(async () => {
    const app = express();
    app.get(
      '/metrics',
      metricsHandler(async () => {
        if (backlog instanceof Error) throw backlog;
        return backlog;
      }),
    );
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => server?.close());

  it('gauges of the outbox and the dead letters, by topic, with the oldest ages in seconds', async () => {
    const at = '2026-12-07T05:00:00.000Z';
    backlog = {
      service: 'billing-service',
      at,
      outbox: { pending: 3, parked: 1, oldestPendingAt: '2026-12-07T04:58:00.000Z' },
      deadLetters: {
        parked: 5,
        poison: 2,
        oldestParkedAt: '2026-12-07T04:00:00.000Z',
        byTopic: [
          { topic: 'appointments', parked: 5, poison: 2 },
          { topic: 'bad"topic\n', parked: 0, poison: 0 },
        ],
      },
    };
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const samples = (await response.text()).split('\n').filter((line) => line && !line.startsWith('#'));
    expect(samples).toEqual([
      'caregrid_outbox_pending{service="billing-service"} 3',
      'caregrid_outbox_parked{service="billing-service"} 1',
      'caregrid_outbox_oldest_pending_age_seconds{service="billing-service"} 120',
      'caregrid_dead_letters_parked{service="billing-service",topic="all"} 5',
      'caregrid_dead_letters_parked{service="billing-service",topic="appointments"} 5',
      // A topic name from an event envelope cannot break the format.
      'caregrid_dead_letters_parked{service="billing-service",topic="bad_topic_"} 0',
      'caregrid_dead_letters_poison{service="billing-service"} 2',
      'caregrid_dead_letters_oldest_age_seconds{service="billing-service"} 3600',
    ]);
  });

  it('a database that does not answer is a 503, so the scraper sees the target down rather than zeros', async () => {
    backlog = new Error('down');
    expect((await fetch(`${base}/metrics`)).status).toBe(503);
  });
});
