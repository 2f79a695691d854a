import { ApiRouter, type Caller } from '@caregrid/platform';
import {
  FHIR_JSON,
  pageLinks,
  searchSchemas,
  searchset,
  toFhirPractitioner,
  toFhirPractitionerRole,
  type Paging,
  type Resource,
} from '@caregrid/fhir';
import { publicRequestUrl, sendCount, sendResource } from '@caregrid/fhir/http';
import type { Request, Response } from 'express';
import type { DoctorAnswer, DoctorSearch, DoctorUseCases } from '../use-cases.js';
import { doctorParams } from './schemas.js';

const outcome = (description: string) => ({ description: `${description} (OperationOutcome)`, contentType: FHIR_JSON });

/**
 * FHIR R4 Practitioner (who) and PractitionerRole (specialty, hours, bookable), one each per doctor,
 * over the same use cases as the JSON API: contact and licence only for staff and the doctor themself.
 */
export function doctorFhirRoutes(doctors: DoctorUseCases): ApiRouter {
  const search = async (
    caller: Caller,
    req: Request,
    res: Response,
    filter: DoctorSearch,
    page: Paging,
    map: (doctor: DoctorAnswer) => Resource,
  ) => {
    const found = await doctors.search(caller, filter, { limit: page.count, cursor: page.cursor });
    if (page.summary === 'count') {
      sendCount(req, res, found.total);
      return;
    }
    sendResource(res, searchset(found.items.map(map), { total: found.total, ...pageLinks(publicRequestUrl(req), found.nextCursor) }));
  };
  const searchAnswers = {
    200: { description: 'searchset Bundle', contentType: FHIR_JSON },
    400: outcome('Bad parameter'),
    403: outcome('A search by email address by someone other than staff'),
  };
  const readAnswers = (type: string) => ({
    200: { description: type, contentType: FHIR_JSON },
    400: outcome('Bad id'),
    404: outcome('Not found'),
  });

  return ApiRouter.forService('doctor-service')
    .add({
      method: 'get',
      path: '/fhir/Practitioner',
      summary: 'FHIR Practitioner search (name, family, given)',
      tags: ['fhir'],
      query: searchSchemas.Practitioner,
      responses: searchAnswers,
      handler: ({ query, caller, req, res }) => search(caller, req, res, { q: query.name, names: query.names }, query, toFhirPractitioner),
    })
    .add({
      method: 'get',
      path: '/fhir/Practitioner/:id',
      summary: 'FHIR Practitioner read',
      tags: ['fhir'],
      params: doctorParams,
      responses: readAnswers('Practitioner'),
      handler: async ({ params, caller, res }) => sendResource(res, toFhirPractitioner(await doctors.read(caller, params.id))),
    })
    .add({
      method: 'get',
      path: '/fhir/PractitionerRole',
      summary: 'FHIR PractitionerRole search (practitioner, specialty, active)',
      tags: ['fhir'],
      query: searchSchemas.PractitionerRole,
      responses: searchAnswers,
      handler: ({ query, caller, req, res }) =>
        search(
          caller,
          req,
          res,
          { id: query.practitionerId, specialization: query.specialty, accepting: query.active },
          query,
          toFhirPractitionerRole,
        ),
    })
    .add({
      method: 'get',
      path: '/fhir/PractitionerRole/:id',
      summary: "FHIR PractitionerRole read (the doctor's id)",
      tags: ['fhir'],
      params: doctorParams,
      responses: readAnswers('PractitionerRole'),
      handler: async ({ params, caller, res }) => sendResource(res, toFhirPractitionerRole(await doctors.read(caller, params.id))),
    });
}
