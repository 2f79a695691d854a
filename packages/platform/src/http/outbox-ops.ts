import { z } from 'zod';
import type { OutboxStore } from '../data/outbox.js';
import { NotFoundError } from '../errors.js';
import { decodeCursor, pageQuerySchema } from '../pagination.js';
import { ApiRouter } from './routes.js';

const parkedEvent = z.object({
  id: z.uuid(),
  topic: z.string(),
  type: z.string(),
  subject: z.string(),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  createdAt: z.iso.datetime(),
  parkedAt: z.iso.datetime(),
  held: z.number().int().describe('Later events of the same subject waiting behind this one (order is kept)'),
});

const problems = {
  400: { description: 'Invalid input (problem+json with the invalid fields)' },
  401: { description: 'No verified caller' },
  403: { description: 'Only admins see and re-drive parked events' },
};

/**
 * The admin's view of a service's outbox: events parked after repeated publish
 * failures (no payload: it can hold personal data) and their re-drive. Added by
 * createServiceApp to every service whose database has an outbox.
 */
export function outboxOpsRoutes(appId: string, store: OutboxStore, onRedrive?: () => void): ApiRouter {
  return ApiRouter.forService(appId)
    .add({
      method: 'get',
      path: '/ops/outbox',
      summary: 'Parked outbox events (admin): failed to publish too often, holding later events of their subject',
      tags: ['operations'],
      query: z.strictObject(pageQuerySchema),
      responses: {
        200: {
          description: 'A page of parked events, oldest first',
          schema: z.object({ items: z.array(parkedEvent), nextCursor: z.string().nullable() }),
        },
        ...problems,
      },
      handler: async ({ query, res }) => {
        const after = query.cursor ? decodeCursor(query.cursor, z.tuple([z.uuid()]))[0] : undefined;
        res.json(await store.listParked({ limit: query.limit, after }));
      },
    })
    .add({
      method: 'post',
      path: '/ops/outbox/:id/redrive',
      summary: 'Re-drive a parked outbox event (admin): attempts reset, published on the next pass',
      tags: ['operations'],
      params: z.object({ id: z.uuid() }),
      responses: { 204: { description: 'Un-parked' }, ...problems, 404: { description: 'No parked event with this id' } },
      handler: async ({ params, res }) => {
        if (!(await store.redrive(params.id))) throw new NotFoundError('parked outbox event', params.id);
        onRedrive?.();
        res.status(204).end();
      },
    });
}
