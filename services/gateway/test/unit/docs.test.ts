import { mergedOpenApi } from '../../src/http/docs.js';

// Each operation states its access as the services do (x-caregrid-access, from the access model).
const operation = (tags: string[]) => ({
  summary: tags.join(),
  tags,
  'x-caregrid-access': tags.includes('events') || tags.includes('internal') ? 'sidecar' : { resource: 'x', actions: ['read'] },
  responses: { 200: { description: 'ok' } },
});

/** Documents shaped like the services' /openapi.json, with their subscriber and binding routes. */
const documents: Record<string, { paths: Record<string, Record<string, ReturnType<typeof operation>>> }> = {
  'billing-service': {
    paths: {
      '/invoices': { get: operation(['billing']) },
      '/events/appointment-paid': { post: operation(['events']) },
      '/events/dead-letter': { post: operation(['events']) },
    },
  },
  'appointment-service': {
    paths: {
      '/appointments': { get: operation(['appointments']), post: operation(['appointments']) },
      // Same path, one operation for clients and one for a binding: only the binding's goes.
      '/appointments/cleanup': { post: operation(['appointments']), put: operation(['internal']) },
      '/appointment-cleanup': { post: operation(['internal']) },
    },
  },
  'analytics-service': {
    paths: { '/analytics/summary': { get: operation(['analytics']) }, '/events/record': { post: operation(['events']) } },
  },
};

describe('merged OpenAPI document', () => {
  it('lists what clients may call, without sidecar-only operations (subscribers, bindings)', async () => {
    const document = await mergedOpenApi(async (appId) => documents[appId]);
    expect(Object.keys(document.paths).sort()).toEqual([
      '/api/analytics/summary',
      '/api/appointments',
      '/api/appointments/cleanup',
      '/api/billing/invoices',
    ]);
    expect(Object.keys(document.paths['/api/appointments']!)).toEqual(['get', 'post']);
    expect(Object.keys(document.paths['/api/appointments/cleanup']!)).toEqual(['post']);
    const tags = Object.values(document.paths)
      .flatMap((item) => Object.values(item as Record<string, { tags: string[] }>))
      .flatMap((o) => o.tags);
    expect(tags).not.toContain('events');
    expect(tags).not.toContain('internal');
  });

  it('names the services it could not reach', async () => {
    const document = await mergedOpenApi(async (appId) => (appId === 'billing-service' ? undefined : documents[appId]));
    expect(document.info.description).toContain('billing-service');
    expect(Object.keys(document.paths)).not.toContain('/api/billing/invoices');
  });
});
