import type { Request } from 'express';
import { ApiRouter, hasRole, identityOf, requireOwnerOrStaff } from '@caregrid/platform';
import type { PatientRepository } from '../data/patient-repository.js';
import { mergeOwnPatientRecord, mergePatient, ownRecordReplaceRefused, todayUtc, toPatientRecord } from '../domain/patient.js';
import { patientBody, patientListQuery, patientPage, patientParams, patientPatchBody, patientResponse } from './schemas.js';

/**
 * Ownership: staff and doctors act on any patient; a patient only on the record
 * linked to their account. No identity at all means a peer service calling by
 * invocation without a user behind it (the gateway always sets one).
 */
function checkAccess(req: Request, patientId: string, staffRoles = ['admin', 'receptionist', 'doctor']): void {
  const identity = identityOf(req);
  if (identity) requireOwnerOrStaff(identity, staffRoles, (caller) => caller.patientId === patientId);
}

/** A patient (not staff) acting on their own record: only the self-service edits apply. */
function isSelfService(req: Request): boolean {
  const identity = identityOf(req);
  return identity !== undefined && hasRole(identity, 'patient') && !hasRole(identity, 'admin', 'receptionist');
}

const problems = {
  400: { description: 'Invalid input (problem+json with the invalid fields)' },
  403: { description: 'Not your record, or a field a patient may not change on their own (allowedFields lists theirs)' },
  404: { description: 'No such patient (or deleted)' },
  409: { description: 'Another live patient has this email or user account' },
};

export function patientRoutes(patients: PatientRepository): ApiRouter {
  return new ApiRouter()
    .add({
      method: 'post',
      path: '/patients',
      summary: 'Register a patient',
      tags: ['patients'],
      body: patientBody,
      responses: { 201: { description: 'Created', schema: patientResponse }, 400: problems[400], 409: problems[409] },
      handler: async ({ body, res }) => {
        const patient = await patients.create(toPatientRecord(body, todayUtc()));
        res.status(201).location(`/patients/${patient.id}`).json(patient);
      },
    })
    .add({
      method: 'get',
      path: '/patients',
      summary: 'Search patients by name or email prefix (keyset pagination, name order)',
      tags: ['patients'],
      query: patientListQuery,
      responses: { 200: { description: 'A page of patients', schema: patientPage }, 400: problems[400] },
      handler: async ({ query, res }) => {
        res.json(await patients.list(query));
      },
    })
    .add({
      method: 'get',
      path: '/patients/:id',
      summary: 'Read a patient',
      tags: ['patients'],
      params: patientParams,
      responses: { 200: { description: 'The patient', schema: patientResponse }, 400: problems[400], 404: problems[404] },
      handler: async ({ params, req, res }) => {
        checkAccess(req, params.id);
        res.json(await patients.get(params.id));
      },
    })
    .add({
      method: 'put',
      path: '/patients/:id',
      summary: 'Replace a patient record',
      tags: ['patients'],
      params: patientParams,
      body: patientBody,
      responses: { 200: { description: 'Updated', schema: patientResponse }, ...problems },
      handler: async ({ params, body, req, res }) => {
        checkAccess(req, params.id, ['admin', 'receptionist']);
        if (isSelfService(req)) throw ownRecordReplaceRefused();
        res.json(await patients.update(params.id, () => toPatientRecord(body, todayUtc())));
      },
    })
    .add({
      method: 'patch',
      path: '/patients/:id',
      summary: 'Change part of a patient record (JSON merge patch: null removes an optional field)',
      tags: ['patients'],
      params: patientParams,
      body: patientPatchBody,
      responses: { 200: { description: 'Updated', schema: patientResponse }, ...problems },
      handler: async ({ params, body, req, res }) => {
        checkAccess(req, params.id, ['admin', 'receptionist']);
        const merge = isSelfService(req) ? mergeOwnPatientRecord : mergePatient;
        res.json(await patients.update(params.id, (current) => merge(current, body, todayUtc())));
      },
    })
    .add({
      method: 'delete',
      path: '/patients/:id',
      summary: 'Delete a patient (soft: the record is kept, no longer served)',
      tags: ['patients'],
      params: patientParams,
      responses: { 204: { description: 'Deleted' }, 400: problems[400], 404: problems[404] },
      handler: async ({ params, res }) => {
        await patients.delete(params.id);
        res.status(204).end();
      },
    });
}
