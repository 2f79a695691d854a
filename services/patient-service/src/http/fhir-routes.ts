import type { Request, Response } from 'express';
import {
  ApiRouter,
  applyJsonPatch,
  InvalidInputError,
  issuesFromZod,
  SELF_SERVICE_FIELDS,
  versionFromIfMatch,
  type FieldIssue,
} from '@caregrid/platform';
import {
  FHIR_JSON,
  pageLinks,
  PATCH_FORMATS,
  patientElementOf,
  patientFromFhir,
  searchSchemas,
  searchset,
  Systems,
  toFhirPatient,
  weakEtag,
  type SearchOf,
} from '@caregrid/fhir';
import { publicRequestUrl, sendCount, sendResource } from '@caregrid/fhir/http';
import type { PatientFilter } from '../data/patient-repository.js';
import { mergePatchBetween, toPatientInput, type Patient, type PatientInput } from '../domain/patient.js';
import type { PatientUseCases } from '../use-cases.js';
import { patientBody, patientParams } from './schemas.js';

const outcome = (description: string) => ({ description: `${description} (OperationOutcome)`, contentType: FHIR_JSON });
const answers = {
  400: outcome('Invalid resource, patch, parameter or If-Match (the JSON API’s patient contract, at the Patient’s elements)'),
  403: outcome(`Your role may not do this; a patient may change only ${SELF_SERVICE_FIELDS.patient.fields.join(', ')} of their own record`),
  404: outcome('No such patient (or not yours to see)'),
  409: outcome('Another live patient has this email or user account; a JSON Patch that does not apply (a test that fails)'),
  412: outcome('If-Match names a version that is no longer current; If-None-Exist matches more than one patient'),
};

/** A Patient with its version as ETag (and, for a create, the version's Location), as FHIR answers reads and writes. */
function sendPatient(req: Request, res: Response, patient: Patient, status = 200, location = false): void {
  res.set({ etag: weakEtag(patient.version), 'last-modified': new Date(patient.updatedAt).toUTCString() });
  if (location) {
    const base = publicRequestUrl(req).replace(/\/fhir\/Patient\b.*$/, '/fhir/Patient');
    res.location(`${base}/${patient.id}/_history/${patient.version}`);
  }
  sendResource(res, toFhirPatient(patient), status);
}

/** Complaints about the JSON API's fields, told at the Patient's elements. */
const atElementsOf = (issues: FieldIssue[]) => issues.map((issue) => ({ ...issue, path: patientElementOf(issue.path) }));

/** A Patient's content, held to the JSON API's patient contract (patientBody). */
function inputOf(resource: unknown, current?: Patient): PatientInput {
  const parsed = patientBody.safeParse(patientFromFhir(resource, current));
  if (!parsed.success) throw new InvalidInputError('the Patient is not a valid patient', atElementsOf(issuesFromZod(parsed.error)));
  return parsed.data;
}

/** A write through the use cases, whose rules (a birth date in the future, the merged record) speak of the JSON API's fields. */
async function atElements<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    throw new InvalidInputError(error.message, atElementsOf(error.issues));
  }
}

/** `If-None-Exist: identifier=[system|]value` → the search that must find nothing for a create to happen. */
function conditionOf(header: string): PatientFilter {
  const params = new URLSearchParams(header);
  if ([...params.keys()].join() !== 'identifier') {
    throw new InvalidInputError('If-None-Exist takes one identifier', [
      { path: 'headers.if-none-exist', message: 'expected identifier=[system|]value' },
    ]);
  }
  const parsed = searchSchemas.Patient.safeParse({ identifier: params.get('identifier') });
  if (!parsed.success) {
    throw new InvalidInputError('If-None-Exist names no usable identifier', [
      { path: 'headers.if-none-exist', message: parsed.error.issues[0]?.message ?? 'invalid' },
    ]);
  }
  return patientFilterOf(parsed.data);
}

/** A FHIR Patient search as the repository's filter (identifier systems: our id, the insurance policy number). */
export function patientFilterOf(search: SearchOf<'Patient'>): PatientFilter {
  const { identifier, birthdate } = search;
  const system =
    identifier?.system === Systems.patientId ? 'id' : identifier?.system === Systems.insurancePolicy ? 'insurance-policy' : undefined;
  return {
    q: search.name,
    names: search.names,
    identifier: identifier && (system ? { system, value: identifier.value } : { value: identifier.value }),
    bornFrom: birthdate?.from,
    bornBefore: birthdate?.to,
  };
}

/**
 * FHIR R4 Patient over the same use cases as the JSON API. A search answers
 * what the caller may read: staff all, a doctor their care team, a patient
 * their own record (admitted as a read of it). Writes are the JSON API's
 * register, replace and merge patch: the same access checks, contract, audit
 * entries and events. Versions: every answer carries the version as ETag
 * (`W/"n"`, meta.versionId); If-Match on PUT and PATCH is optional (as the
 * JSON API's writes are unconditional) and, when given, must name the current
 * version (else 412, nothing changed).
 */
export function patientFhirRoutes(patients: PatientUseCases): ApiRouter {
  return ApiRouter.forService('patient-service')
    .add({
      method: 'get',
      path: '/fhir/Patient',
      audit: 'search',
      summary:
        'FHIR Patient search (name, family, given, identifier, birthdate): a searchset Bundle of the patients you may read (_summary=count: how many)',
      tags: ['fhir'],
      query: searchSchemas.Patient,
      responses: {
        200: { description: 'searchset Bundle', contentType: FHIR_JSON },
        400: outcome('Bad parameter'),
        403: outcome('Forbidden'),
      },
      handler: async ({ query, caller, req, res }) => {
        const filter = patientFilterOf(query);
        if (query.summary === 'count') {
          sendCount(req, res, await patients.count(caller, filter));
          return;
        }
        const page = await patients.search(caller, filter, { limit: query.count, cursor: query.cursor });
        sendResource(
          res,
          searchset(page.items.map(toFhirPatient), { total: page.total, ...pageLinks(publicRequestUrl(req), page.nextCursor) }),
        );
      },
    })
    .add({
      method: 'get',
      path: '/fhir/Patient/:id',
      audit: 'read',
      summary: 'FHIR Patient read (staff; the patient; a doctor they have an appointment with)',
      tags: ['fhir'],
      params: patientParams,
      responses: { 200: { description: 'Patient', contentType: FHIR_JSON }, 400: outcome('Bad id'), 404: outcome('Not found') },
      handler: async ({ params, caller, req, res }) => {
        sendPatient(req, res, await patients.read(caller, params.id));
      },
    })
    .add({
      method: 'post',
      path: '/fhir/Patient',
      audit: 'create',
      idempotent: true,
      summary:
        'FHIR Patient create (staff), as POST /patients registers: Location names the version. Conditional with If-None-Exist: identifier=[system|]value (one match: 200 with it, nothing created; several: 412)',
      tags: ['fhir'],
      responses: {
        // Not a 200 of its own: a route's first success status is what its audit entry records for the write.
        201: { description: 'Created Patient (200: the one Patient If-None-Exist matched, nothing created)', contentType: FHIR_JSON },
        400: answers[400],
        403: answers[403],
        409: answers[409],
        412: answers[412],
      },
      handler: async ({ body, caller, req, res }) => {
        const condition = req.header('if-none-exist');
        const input = inputOf(body);
        if (condition === undefined) {
          sendPatient(req, res, await atElements(patients.register(caller, input)), 201, true);
          return;
        }
        const { patient, created } = await atElements(patients.registerUnlessFound(caller, input, conditionOf(condition)));
        sendPatient(req, res, patient, created ? 201 : 200, true);
      },
    })
    .add({
      method: 'put',
      path: '/fhir/Patient/:id',
      audit: 'change',
      summary:
        'FHIR Patient update (staff), as PUT /patients/{id} replaces: the whole resource, its id the URL’s; allergies and the account link, which a Patient does not carry, are kept. If-Match (optional): the version read',
      tags: ['fhir'],
      params: patientParams,
      responses: { 200: { description: 'Updated Patient', contentType: FHIR_JSON }, ...answers },
      handler: async ({ params, body, caller, req, res }) => {
        const expected = versionFromIfMatch(req.header('if-match'));
        sendPatient(req, res, await atElements(patients.replace(caller, params.id, (current) => inputOf(body, current), expected)));
      },
    })
    .add({
      method: 'patch',
      path: '/fhir/Patient/:id',
      audit: 'change',
      summary: `FHIR Patient patch (${PATCH_FORMATS.join(', ')}) of the resource as read; the change is the JSON API's PATCH /patients/{id}: staff any element, the patient only their contact details (telecom phone, address, contact). If-Match (optional): the version read`,
      tags: ['fhir'],
      params: patientParams,
      responses: { 200: { description: 'Patched Patient', contentType: FHIR_JSON }, ...answers },
      handler: async ({ params, body, caller, req, res }) => {
        const expected = versionFromIfMatch(req.header('if-match'));
        // Applied to the current record under its lock, once the caller may change it at all.
        const change = (current: Patient) =>
          mergePatchBetween(toPatientInput(current), patientFromFhir(applyJsonPatch(toFhirPatient(current), body), current));
        sendPatient(req, res, await atElements(patients.patch(caller, params.id, change, expected)));
      },
    });
}
