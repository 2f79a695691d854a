/**
 * What the FHIR integration tests share: FHIR calls through a test stack's gateway, each answer
 * checked to be fhir+json and valid R4 whatever it is (a resource, a Bundle, an OperationOutcome),
 * and the people and records they need, made through the JSON API as the bootstrap admin. Both
 * take getters, so a test file can destructure them at its top, before its stack has started.
 */
import { expect } from '@jest/globals';
import { doctorProfile, expectStatus, PASSWORD, readyAccount, unique, type jsonClient, type TestStack } from '@caregrid/devkit';
import { fhirSchemaErrors } from '../../packages/fhir/test/fhir-schema.js';

export type Json = Record<string, unknown>;
type Caller = Record<string, string>;
export type Outcome = { resourceType: 'OperationOutcome'; issue: { code: string; diagnostics?: string; expression?: string[] }[] };

export function fhirClient(stackOf: () => TestStack) {
  /** `contentTypeOrHeaders`: the body's type (fhir+json, or json-patch+json for a PATCH, unless given), or headers to add. */
  const fhir = async (method: string, url: string, as: Caller, body?: unknown, contentTypeOrHeaders?: string | Record<string, string>) => {
    const contentType =
      typeof contentTypeOrHeaders === 'string'
        ? contentTypeOrHeaders
        : method === 'PATCH'
          ? 'application/json-patch+json'
          : 'application/fhir+json';
    const headers = typeof contentTypeOrHeaders === 'object' ? contentTypeOrHeaders : {};
    const response = await fetch(`${stackOf().url('gateway')}${url}`, {
      method,
      headers: { accept: 'application/fhir+json', ...as, ...(body === undefined ? {} : { 'content-type': contentType }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    expect([url, response.headers.get('content-type')]).toEqual([url, 'application/fhir+json; charset=utf-8']);
    const parsed = JSON.parse(text) as Json;
    expect(fhirSchemaErrors(parsed)).toEqual([]);
    return { status: response.status, body: parsed, headers: response.headers, text };
  };
  /** A search that must answer 200 (a failing one shows its diagnostics). */
  const search = async <B = Json>(url: string, as: Caller): Promise<B> => {
    const answer = await fhir('GET', url, as);
    expect([url, answer.status, (answer.body as Partial<Outcome>).issue?.[0]?.diagnostics]).toEqual([url, 200, undefined]);
    return answer.body as B;
  };
  /** A call that must answer `status` with an OperationOutcome. */
  const expectOutcome = async (
    method: string,
    url: string,
    as: Caller,
    status: number,
    body?: unknown,
    contentTypeOrHeaders?: string | Record<string, string>,
  ) => {
    const answer = await fhir(method, url, as, body, contentTypeOrHeaders);
    expect([url, answer.status, answer.body.resourceType]).toEqual([url, status, 'OperationOutcome']);
    return answer.body as Outcome;
  };
  return { fhir, search, expectOutcome };
}

const EVERY_DAY = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export function clinicRecords(ofStack: () => { api: ReturnType<typeof jsonClient>; admin: Caller }) {
  /** A ready account (its own password chosen) with these roles and links: its authorization header. */
  const account = async (roles: string[], links: { patientId?: string; doctorId?: string } = {}): Promise<Caller> => {
    const { api, admin } = ofStack();
    const email = `${unique(roles.join('-'))}@example.org`;
    return (await readyAccount(api, admin, { email, password: PASSWORD, roles, ...links })).auth;
  };
  const createPatient = async (name: string, fields: Json = {}): Promise<string> => {
    const { api, admin } = ofStack();
    const body = { name, email: `${unique('p')}@example.org`, dateOfBirth: '1990-05-05', gender: 'female', ...fields };
    return (expectStatus(await api('POST', '/api/patients', body, admin), 201).body as { id: string }).id;
  };
  /** A doctor working these hours every day (around the clock unless given), with a tariff. */
  const createDoctor = async (
    hours = { start: '00:00', end: '23:30' },
    fees: Record<string, number> = { consultation: 8000, checkup: 4500 },
  ): Promise<string> => {
    const { api, admin } = ofStack();
    const body = doctorProfile({ workingHours: Object.fromEntries(EVERY_DAY.map((d) => [d, [hours]])), fees });
    return (expectStatus(await api('POST', '/api/doctors', body, admin), 201).body as { id: string }).id;
  };
  return { account, createPatient, createDoctor };
}
