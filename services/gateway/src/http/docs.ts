import express, { type Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import { SIDECAR, type Logger } from '@caregrid/platform';
import { publicPathOf, ROUTES } from '../domain/routes.js';

type OpenApiDocument = { paths?: Record<string, unknown>; components?: { schemas?: Record<string, unknown> } };

/** Operations a client may call: event deliveries and binding triggers (access `sidecar`) are not the public API. */
function clientOnly(operations: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(operations).filter(([, operation]) => (operation as { 'x-caregrid-access'?: unknown })['x-caregrid-access'] !== SIDECAR),
  );
}

/**
 * One OpenAPI document for the whole API: each service's /openapi.json
 * (fetched by invocation through the sidecar), its paths renamed to the
 * gateway's public ones, with the bearer scheme every protected route uses.
 */
export async function mergedOpenApi(fetchDocument: (appId: string) => Promise<OpenApiDocument | undefined>) {
  const appIds = [...new Set(ROUTES.map((route) => route.appId))];
  const documents = await Promise.all(appIds.map(async (appId) => [appId, await fetchDocument(appId).catch(() => undefined)] as const));
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  const missing: string[] = [];
  for (const [appId, document] of documents) {
    if (!document) {
      missing.push(appId);
      continue;
    }
    for (const [servicePath, operations] of Object.entries(document.paths ?? {})) {
      const publicPath = publicPathOf(appId, servicePath);
      const clientOperations = publicPath ? clientOnly(operations as Record<string, unknown>) : {};
      if (publicPath && Object.keys(clientOperations).length > 0) paths[publicPath] = clientOperations;
    }
    Object.assign(schemas, document.components?.schemas);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'CareGrid API',
      version: '0.1.0',
      description: missing.length ? `Not reachable right now, so not listed: ${missing.join(', ')}` : 'All CareGrid services',
    },
    security: [{ bearerAuth: [] }],
    paths,
    components: { schemas, securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
  };
}

export function docsRouter(options: { sidecarHttpPort: number; logger: Logger; cacheMs?: number }): Router {
  const router = express.Router();
  let cached: { at: number; document: unknown } | undefined;
  const fetchDocument = async (appId: string) => {
    const response = await fetch(`http://127.0.0.1:${options.sidecarHttpPort}/v1.0/invoke/${appId}/method/openapi.json`, {
      signal: AbortSignal.timeout(3_000),
    });
    return response.ok ? ((await response.json()) as OpenApiDocument) : undefined;
  };
  router.get('/docs/openapi.json', async (_req, res) => {
    if (!cached || Date.now() - cached.at > (options.cacheMs ?? 30_000))
      cached = { at: Date.now(), document: await mergedOpenApi(fetchDocument) };
    res.json(cached.document);
  });
  router.use('/docs', swaggerUi.serve, swaggerUi.setup(undefined, { swaggerOptions: { url: '/docs/openapi.json' } }));
  return router;
}
