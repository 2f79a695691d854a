import { z } from 'zod';
import { ApiRouter, InvalidInputError, timestamp } from '@caregrid/platform';
import { APPOINTMENT_COUNTS, type AnalyticsStore } from '../data/analytics-store.js';

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

export function analyticsRoutes(store: AnalyticsStore): ApiRouter {
  return ApiRouter.forService('analytics-service')
    .add({
      method: 'get',
      path: '/analytics/summary',
      summary: 'Counts and revenue of events whose time falls in [from, to) (admin)',
      tags: ['analytics'],
      query: window,
      responses: { 200: { description: 'Summary' }, 400: { description: 'Invalid window' }, 403: { description: 'Admins only' } },
      handler: async ({ query, res }) => {
        const [patientsRegistered, counts, revenue] = await Promise.all([
          store.patientsRegistered(query.from, query.to),
          store.countByType(query.from, query.to, Object.values(APPOINTMENT_COUNTS)),
          store.revenue(query.from, query.to),
        ]);
        res.json({
          from: query.from.toISOString(),
          to: query.to.toISOString(),
          patientsRegistered,
          appointments: Object.fromEntries(Object.entries(APPOINTMENT_COUNTS).map(([name, type]) => [name, counts.get(type) ?? 0])),
          revenue,
        });
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
        const rows = await store.dailyAppointments(query.from, query.to);
        const days = new Map<string, Record<string, number>>();
        for (const row of rows) {
          const counts = days.get(row.day) ?? { booked: 0, cancelled: 0, fulfilled: 0, noshow: 0 };
          const name = Object.entries(APPOINTMENT_COUNTS).find(([, type]) => type === row.type)![0];
          counts[name] = row.count;
          days.set(row.day, counts);
        }
        res.json({
          from: query.from.toISOString(),
          to: query.to.toISOString(),
          days: [...days].map(([day, counts]) => ({ day, ...counts })),
        });
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
        const doctors = await store.topDoctors(query.by, query.currency, query.limit);
        res.json({
          by: query.by,
          currency: query.currency,
          doctors: doctors.map((d) => ({
            doctorId: d._id,
            name: d.name,
            specialization: d.specialization,
            appointments: d.appointments ?? 0,
            revenue: d.revenue?.[query.currency] ?? 0,
          })),
        });
      },
    })
    .add({
      method: 'get',
      path: '/analytics/specializations',
      summary: 'Doctors and booked appointments per specialization (admin)',
      tags: ['analytics'],
      responses: { 200: { description: 'Per specialization' }, 403: { description: 'Admins only' } },
      handler: async ({ res }) => {
        res.json({ specializations: await store.specializations() });
      },
    });
}
