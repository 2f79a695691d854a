import express, { type RequestHandler, type Router } from 'express';
import { capabilityStatement, COMPOSED_FHIR_ROUTES } from '@caregrid/fhir';
import { sendOutcome, sendResource } from '@caregrid/fhir/http';
import { ENDPOINTS, problemType } from '@caregrid/platform';
import { FHIR_BASE } from '../domain/routes.js';

/**
 * `GET /api/fhir/metadata`: the CapabilityStatement, answered by the gateway
 * itself and public, as FHIR servers do (clients read it to learn what the
 * server supports and how to sign in before they hold a token; it holds no
 * patient data). It is built from the access model's endpoint table, which
 * the services serve exactly and the gateway policy admits (anything else under
 * a FHIR type is a 405 there), and from the tables the services' search parsers
 * use, so it states exactly what they serve; and from what the gateway composes of those
 * (include.ts: _include, _revinclude, $everything).
 */
export function fhirMetadata(options: { version?: string; now?: () => Date }): Router {
  const date = (options.now ?? (() => new Date()))().toISOString();
  // The services' routes, and what the gateway composes from them (fhir-compose.ts).
  const routes = [...Object.values(ENDPOINTS).flatMap((table) => Object.keys(table)), ...COMPOSED_FHIR_ROUTES];
  const router = express.Router();
  router.get(`${FHIR_BASE}/metadata`, (req, res) => {
    const baseUrl = `${req.protocol}://${req.header('host') ?? 'localhost'}${FHIR_BASE}`;
    sendResource(res, capabilityStatement({ baseUrl, date, routes, ...(options.version ? { version: options.version } : {}) }));
  });
  router.all(`${FHIR_BASE}/metadata`, onlyGet);
  return router;
}

/** A FHIR path the gateway answers itself, asked with another method than GET: a 405 OperationOutcome offering GET. */
export const onlyGet: RequestHandler = (req, res) => {
  sendOutcome(
    res,
    {
      type: problemType('method-not-allowed'),
      title: 'Method not allowed',
      status: 405,
      detail: `${req.method} is not offered here (offered: GET)`,
    },
    { allow: 'GET' },
  );
};

/** A FHIR path no service serves (an unknown resource type, the bare base): a 404 OperationOutcome. */
export const fhirNotFound: RequestHandler = (req, res) => {
  sendOutcome(res, {
    type: problemType('not-found'),
    title: 'Not found',
    status: 404,
    detail: `${req.method} ${req.path} is not served here (see ${FHIR_BASE}/metadata)`,
  });
};
