import { z } from 'zod';
import { ApiRouter, InvalidInputError, timestamp } from '@caregrid/platform';
import type { AnalyticsUseCases } from '../use-cases.js';

const window = z
  .strictObject({
    from: timestamp.optional(),
    to: timestamp.optional(),
  })
  .transform(({ from, to }) => {
    const end = to ? new Date(to) : new Date();
    const start = from ? new Date(from) : new Date(end.getTime() - 30 * 86_400_000);
    if (start >= end) throw new InvalidInputError('from must be before to', [{ path: 'query.from', message: 'must be before to' }]);
    return { from: start, to: end };
  });

export function analyticsRoutes(analytics: AnalyticsUseCases): ApiRouter {
  return ApiRouter.forService('analytics-service')
    .add({
      method: 'get',
      path: '/analytics/summary',
      summary: 'Counts and revenue of events whose time falls in [from, to) (admin)',
      tags: ['analytics'],
      query: window,
      responses: { 200: { description: 'Summary' }, 400: { description: 'Invalid window' }, 403: { description: 'Admins only' } },
      handler: async ({ query, res }) => {
        res.json({ from: query.from.toISOString(), to: query.to.toISOString(), ...(await analytics.summary(query)) });
      },
    })
    .add({
      method: 'get',
      path: '/analytics/appointments/daily',
      summary: 'Appointment events per UTC day (admin)',
      tags: ['analytics'],
      query: window,
      responses: { 200: { description: 'Days' }, 403: { description: 'Admins only' } },
      handler: async ({ query, res }) => {
        res.json({ from: query.from.toISOString(), to: query.to.toISOString(), days: await analytics.dailyAppointments(query) });
      },
    })
    .add({
      method: 'get',
      path: '/analytics/doctors/top',
      summary: 'Doctors with most appointments, or most revenue in one currency (admin)',
      tags: ['analytics'],
      query: z.strictObject({
        by: z.enum(['appointments', 'revenue']).default('appointments'),
        currency: z
          .string()
          .regex(/^[A-Z]{3}$/)
          .default('EUR'),
        limit: z.coerce.number().int().min(1).max(100).default(10),
      }),
      responses: { 200: { description: 'Ranking' }, 403: { description: 'Admins only' } },
      handler: async ({ query, res }) => {
        res.json({ by: query.by, currency: query.currency, doctors: await analytics.topDoctors(query.by, query.currency, query.limit) });
      },
    })
    .add({
      method: 'get',
      path: '/analytics/specializations',
      summary: 'Doctors and booked appointments per specialization (admin)',
      tags: ['analytics'],
      responses: { 200: { description: 'Per specialization' }, 403: { description: 'Admins only' } },
      handler: async ({ res }) => {
        res.json({ specializations: await analytics.specializations() });
      },
    });
}
