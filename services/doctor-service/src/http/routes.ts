import type { Response } from 'express';
import { ApiRouter, authorize, authorizeNew } from '@caregrid/platform';
import type { DoctorRepository } from '../data/doctor-repository.js';
import { etagOf, toDoctorRecord, versionFromIfMatch, type Doctor } from '../domain/doctor.js';
import { doctorFacts, patchDoctor } from '../domain/doctor-access.js';
import { doctorUseCases, type DoctorAnswer } from '../use-cases.js';
import { doctorBody, doctorListQuery, doctorPage, doctorParams, doctorPatchBody, doctorReadResponse, doctorResponse } from './schemas.js';

const problems = {
  400: { description: 'Invalid input (problem+json with the invalid fields)' },
  401: { description: 'No verified caller' },
  403: {
    description: 'Your role may not do this (to this doctor), or a field a doctor may not change on their own (allowedFields lists theirs)',
  },
  404: { description: 'No such doctor (or deleted)' },
  409: { description: 'Duplicate email or license number, or a stale version (If-Match / version)' },
};

const sendDoctor = (res: Response, doctor: DoctorAnswer, status = 200) => res.status(status).set('ETag', etagOf(doctor)).json(doctor);

/** The version the caller read: If-Match wins over a `version` in the body. */
const expectedVersion = (ifMatch: string | undefined, body: { version?: unknown }) =>
  versionFromIfMatch(ifMatch) ?? (typeof body.version === 'number' ? body.version : undefined);

export function doctorRoutes(doctors: DoctorRepository): ApiRouter {
  const useCases = doctorUseCases(doctors);
  return ApiRouter.forService('doctor-service')
    .add({
      method: 'post',
      path: '/doctors',
      summary: 'Add a doctor',
      tags: ['doctors'],
      body: doctorBody,
      responses: { 201: { description: 'Created', schema: doctorResponse }, 400: problems[400], 409: problems[409] },
      handler: async ({ body, caller, res }) => {
        authorizeNew(caller, 'doctor', {});
        const doctor = await doctors.create(toDoctorRecord(body));
        sendDoctor(res.location(`/doctors/${doctor.id}`), doctor, 201);
      },
    })
    .add({
      method: 'get',
      path: '/doctors',
      summary:
        'List doctors: filter by specialization and accepting, search by name prefix (staff: or email prefix); keyset pagination. Staff and the doctor themself get the whole record, everyone else the public profile',
      tags: ['doctors'],
      query: doctorListQuery,
      responses: {
        200: { description: 'A page of doctors', schema: doctorPage },
        400: problems[400],
        403: { description: 'A search by email address (q with @) by someone other than staff' },
      },
      handler: async ({ query, caller, res }) => {
        const { limit, cursor, ...search } = query;
        res.json(await useCases.list(caller, search, { limit, cursor }));
      },
    })
    .add({
      method: 'get',
      path: '/doctors/:id',
      summary:
        'Read a doctor (ETag carries the version): the whole record for staff and the doctor themself, the public profile for everyone else',
      tags: ['doctors'],
      params: doctorParams,
      responses: { 200: { description: 'The doctor', schema: doctorReadResponse }, 400: problems[400], 404: problems[404] },
      handler: async ({ params, caller, res }) => {
        sendDoctor(res, await useCases.read(caller, params.id));
      },
    })
    .add({
      method: 'put',
      path: '/doctors/:id',
      summary: 'Replace a doctor (send If-Match or version to guard against lost updates)',
      tags: ['doctors'],
      params: doctorParams,
      body: doctorBody,
      responses: { 200: { description: 'Updated', schema: doctorResponse }, ...problems },
      handler: async ({ params, body, caller, req, res }) => {
        const version = expectedVersion(req.header('if-match'), body);
        const change = (current: Doctor) => {
          authorize(caller, 'doctor', 'update', doctorFacts(current.id));
          return toDoctorRecord(body);
        };
        sendDoctor(res, await doctors.update(params.id, version, change));
      },
    })
    .add({
      method: 'patch',
      path: '/doctors/:id',
      summary: 'Change part of a doctor (JSON merge patch; If-Match or version for optimistic locking)',
      tags: ['doctors'],
      params: doctorParams,
      body: doctorPatchBody,
      responses: { 200: { description: 'Updated', schema: doctorResponse }, ...problems },
      handler: async ({ params, body, caller, req, res }) => {
        const version = expectedVersion(req.header('if-match'), body);
        sendDoctor(res, await doctors.update(params.id, version, (current) => patchDoctor(caller, current, body)));
      },
    })
    .add({
      method: 'delete',
      path: '/doctors/:id',
      summary: 'Delete a doctor (soft; If-Match honoured)',
      tags: ['doctors'],
      params: doctorParams,
      responses: { 204: { description: 'Deleted' }, ...problems },
      handler: async ({ params, req, res }) => {
        await doctors.delete(params.id, versionFromIfMatch(req.header('if-match')));
        res.status(204).end();
      },
    });
}
