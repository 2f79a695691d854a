import { ApiRouter } from '@caregrid/platform';
import { FHIR_JSON, pageLinks, searchSchemas, searchset, toFhirPractitioner, toFhirPractitionerRole, type Resource } from '@caregrid/fhir';
import { publicRequestUrl, sendResource } from '@caregrid/fhir/http';
import type { Request, Response } from 'express';
import type { DoctorFilter, DoctorRepository } from '../data/doctor-repository.js';
import type { Doctor } from '../domain/doctor.js';
import { doctorParams } from './schemas.js';

const outcome = (description: string) => ({ description: `${description} (OperationOutcome)`, contentType: FHIR_JSON });

/** FHIR R4 Practitioner (who) and PractitionerRole (specialty, hours, bookable), one each per doctor, over the same repository. */
export function doctorFhirRoutes(doctors: DoctorRepository): ApiRouter {
  const search = async (
    req: Request,
    res: Response,
    filter: Omit<DoctorFilter, 'limit' | 'cursor'>,
    page: { count: number; cursor?: string },
    map: (doctor: Doctor) => Resource,
  ) => {
    const [found, total] = await Promise.all([doctors.list({ ...filter, limit: page.count, cursor: page.cursor }), doctors.count(filter)]);
    sendResource(res, searchset(found.items.map(map), { total, ...pageLinks(publicRequestUrl(req), found.nextCursor) }));
  };
  const searchAnswers = { 200: { description: 'searchset Bundle', contentType: FHIR_JSON }, 400: outcome('Bad parameter') };
  const readAnswers = (type: string) => ({
    200: { description: type, contentType: FHIR_JSON },
    400: outcome('Bad id'),
    404: outcome('Not found'),
  });

  return ApiRouter.forService('doctor-service')
    .add({
      method: 'get',
      path: '/fhir/Practitioner',
      summary: 'FHIR Practitioner search (name)',
      tags: ['fhir'],
      query: searchSchemas.Practitioner,
      responses: searchAnswers,
      handler: ({ query, req, res }) => search(req, res, { q: query.name }, query, toFhirPractitioner),
    })
    .add({
      method: 'get',
      path: '/fhir/Practitioner/:id',
      summary: 'FHIR Practitioner read',
      tags: ['fhir'],
      params: doctorParams,
      responses: readAnswers('Practitioner'),
      handler: async ({ params, res }) => sendResource(res, toFhirPractitioner(await doctors.get(params.id))),
    })
    .add({
      method: 'get',
      path: '/fhir/PractitionerRole',
      summary: 'FHIR PractitionerRole search (practitioner, specialty, active)',
      tags: ['fhir'],
      query: searchSchemas.PractitionerRole,
      responses: searchAnswers,
      handler: ({ query, req, res }) =>
        search(
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
      handler: async ({ params, res }) => sendResource(res, toFhirPractitionerRole(await doctors.get(params.id))),
    });
}
