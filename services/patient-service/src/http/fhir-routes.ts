import { ApiRouter } from '@caregrid/platform';
import { FHIR_JSON, pageLinks, searchSchemas, searchset, Systems, toFhirPatient, type SearchOf } from '@caregrid/fhir';
import { publicRequestUrl, sendCount, sendResource } from '@caregrid/fhir/http';
import type { PatientFilter } from '../data/patient-repository.js';
import type { PatientUseCases } from '../use-cases.js';
import { patientParams } from './schemas.js';

const outcome = (description: string) => ({ description: `${description} (OperationOutcome)`, contentType: FHIR_JSON });

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
 * their own record (admitted as a read of it).
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
      handler: async ({ params, caller, res }) => {
        sendResource(res, toFhirPatient(await patients.read(caller, params.id)));
      },
    });
}
