import { ApiRouter, SELF_SERVICE_FIELDS } from '@caregrid/platform';
import type { Patient } from '../domain/patient.js';
import type { PatientUseCases } from '../use-cases.js';
import {
  accessLogPage,
  accessLogQuery,
  patientBody,
  patientListQuery,
  patientPage,
  patientParams,
  patientPatchBody,
  patientResponse,
} from './schemas.js';

const problems = {
  400: { description: 'Invalid input (problem+json with the invalid fields)' },
  401: { description: 'No verified caller' },
  403: {
    description:
      'Your role may not do this (to this record), or a field a patient may not change on their own (allowedFields lists theirs)',
  },
  404: { description: 'No such patient (or deleted, or not yours to see)' },
  409: { description: 'Another live patient has this email or user account' },
};

/** A patient as the JSON API answers it: without the version, which only FHIR's ETags carry (a record read and written back stays valid). */
const answer = ({ version: _version, ...patient }: Patient) => patient;

export function patientRoutes(patients: PatientUseCases): ApiRouter {
  return ApiRouter.forService('patient-service')
    .add({
      method: 'post',
      path: '/patients',
      audit: 'create',
      idempotent: true,
      summary: 'Register a patient (staff)',
      tags: ['patients'],
      body: patientBody,
      responses: { 201: { description: 'Created', schema: patientResponse }, 400: problems[400], 403: problems[403], 409: problems[409] },
      handler: async ({ body, caller, res }) => {
        const patient = await patients.register(caller, body);
        res.status(201).location(`/patients/${patient.id}`).json(answer(patient));
      },
    })
    .add({
      method: 'get',
      path: '/patients',
      audit: 'search',
      summary: 'Search patients by name or email prefix: staff all, a doctor their care team (keyset pagination, name order)',
      tags: ['patients'],
      query: patientListQuery,
      responses: { 200: { description: 'A page of patients', schema: patientPage }, 400: problems[400], 403: problems[403] },
      handler: async ({ query, caller, res }) => {
        const { limit, cursor, ...filter } = query;
        const page = await patients.list(caller, filter, { limit, cursor });
        res.json({ ...page, items: page.items.map(answer) });
      },
    })
    .add({
      method: 'get',
      path: '/patients/:id',
      audit: 'read',
      summary: 'Read a patient (staff; the patient; a doctor they have an appointment with)',
      tags: ['patients'],
      params: patientParams,
      responses: { 200: { description: 'The patient', schema: patientResponse }, 400: problems[400], 404: problems[404] },
      handler: async ({ params, caller, res }) => {
        res.json(answer(await patients.read(caller, params.id)));
      },
    })
    .add({
      method: 'put',
      path: '/patients/:id',
      audit: 'change',
      summary: 'Replace a patient record (staff)',
      tags: ['patients'],
      params: patientParams,
      body: patientBody,
      responses: { 200: { description: 'Updated', schema: patientResponse }, ...problems },
      handler: async ({ params, body, caller, res }) => {
        res.json(answer(await patients.replace(caller, params.id, body)));
      },
    })
    .add({
      method: 'patch',
      path: '/patients/:id',
      audit: 'change',
      summary: `Change part of a patient record (JSON merge patch: null removes an optional field). Staff: any field; the patient: ${SELF_SERVICE_FIELDS.patient.fields.join(', ')}`,
      tags: ['patients'],
      params: patientParams,
      body: patientPatchBody,
      responses: { 200: { description: 'Updated', schema: patientResponse }, ...problems },
      handler: async ({ params, body, caller, res }) => {
        res.json(answer(await patients.patch(caller, params.id, body)));
      },
    })
    .add({
      method: 'delete',
      path: '/patients/:id',
      audit: 'delete',
      summary: 'Delete a patient (admin; soft: the record is kept, no longer served)',
      tags: ['patients'],
      params: patientParams,
      responses: { 204: { description: 'Deleted' }, 400: problems[400], 403: problems[403], 404: problems[404] },
      handler: async ({ params, caller, res }) => {
        await patients.remove(caller, params.id);
        res.status(204).end();
      },
    })
    .add({
      method: 'get',
      path: '/patients/:id/access-log',
      audit: 'read',
      summary: "Who accessed this patient's data, newest first (the patient; admins)",
      tags: ['patients'],
      params: patientParams,
      query: accessLogQuery,
      responses: {
        200: { description: 'A page of the access log', schema: accessLogPage },
        400: problems[400],
        404: problems[404],
        503: { description: 'The audit trail is unavailable' },
      },
      handler: async ({ params, query, caller, res }) => {
        res.json(await patients.accessLog(caller, params.id, query));
      },
    });
}
