import {
  capabilityStatement,
  COMMON_PARAMS,
  fromFhirMoney,
  fhirOffer,
  fhirRouteMeaning,
  SEARCH_PARAMS,
  searchset,
  toFhirMoney,
  toFhirPatient,
  toFhirSlots,
  toOperationOutcome,
} from '../src/index.js';
import { expectValidFhir } from './fhir-schema.js';
import { freeSlots, ids, minimalPatient, patient } from './fixtures.js';

describe('money', () => {
  it('minor units ↔ FHIR decimals exactly, by the currency’s minor digits', () => {
    expect(JSON.stringify(toFhirMoney(12_345, 'EUR'))).toBe('{"value":123.45,"currency":"EUR"}');
    expect(toFhirMoney(5, 'EUR').value).toBe(0.05);
    expect(toFhirMoney(0, 'EUR').value).toBe(0);
    expect(toFhirMoney(12_345, 'JPY').value).toBe(12_345);
    expect(toFhirMoney(12_345, 'KWD').value).toBe(12.345);
    expect(toFhirMoney(-1_999, 'USD').value).toBe(-19.99);
    // Amounts where float arithmetic drifts (1.005 * 100, 4.35 * 100, x / 100…): the text route does not.
    const exact: [number, string][] = [
      [1, '0.01'],
      [10, '0.1'],
      [29, '0.29'],
      [57, '0.57'],
      [435, '4.35'],
      [1_005, '10.05'],
      [1_015, '10.15'],
      [12_345_678_901_234, '123456789012.34'],
      [999_999_999_999_999, '9999999999999.99'],
    ];
    for (const [amount, text] of exact) {
      const money = toFhirMoney(amount, 'EUR');
      expect(JSON.stringify(money.value)).toBe(text);
      expect(fromFhirMoney(money)).toBe(amount);
    }
  });

  it('refuses what it cannot carry exactly', () => {
    expect(() => toFhirMoney(1.5, 'EUR')).toThrow(RangeError);
    expect(() => toFhirMoney(1_000_000_000_000_000, 'EUR')).toThrow(RangeError);
    expect(() => fromFhirMoney({ value: 1.005, currency: 'EUR' })).toThrow(/minor digits/);
    expect(() => fromFhirMoney({ value: 1e-7, currency: 'EUR' })).toThrow(RangeError);
  });
});

describe('searchset bundles', () => {
  const selfUrl = 'https://clinic.example/api/fhir/Patient?name=An&_count=2';

  it('total, self and next links, entries with fullUrl and search mode; valid R4', () => {
    const nextUrl = `${selfUrl}&_cursor=abc`;
    const bundle = searchset([toFhirPatient(patient), toFhirPatient({ ...minimalPatient, id: ids.user })], { total: 7, selfUrl, nextUrl });
    expectValidFhir(bundle);
    expect(bundle).toMatchObject({
      resourceType: 'Bundle',
      type: 'searchset',
      total: 7,
      link: [
        { relation: 'self', url: selfUrl },
        { relation: 'next', url: nextUrl },
      ],
    });
    expect(bundle.entry!.map((e) => [e.fullUrl, e.search.mode])).toEqual([
      [`https://clinic.example/api/fhir/Patient/${ids.patient}`, 'match'],
      [`https://clinic.example/api/fhir/Patient/${ids.user}`, 'match'],
    ]);
  });

  it('the last page has no next link; an empty result no entries; the base can be given', () => {
    const last = searchset(toFhirSlots(freeSlots), {
      total: 2,
      selfUrl: 'http://x/Slot?practitioner=1',
      baseUrl: 'https://clinic.example/api/fhir/',
    });
    expectValidFhir(last);
    expect(last.link).toEqual([{ relation: 'self', url: 'http://x/Slot?practitioner=1' }]);
    expect(last.entry![0]!.fullUrl).toBe(`https://clinic.example/api/fhir/Slot/${ids.doctor}.202603020830`);
    const empty = searchset([], { total: 0, selfUrl });
    expectValidFhir(empty);
    expect(empty).not.toHaveProperty('entry');
  });
});

describe('OperationOutcome from problem+json', () => {
  const problem = (status: number, slug: string, extra: object = {}) => ({
    type: `urn:caregrid:problem:${slug}`,
    title: 'T',
    status,
    detail: 'D',
    ...extra,
  });

  it.each([
    [400, 'invalid', 'invalid'],
    [401, 'unauthenticated', 'login'],
    [403, 'forbidden', 'forbidden'],
    [404, 'not-found', 'not-found'],
    [409, 'conflict', 'conflict'],
    [413, 'entity-too-large', 'too-costly'],
    [415, 'unsupported', 'not-supported'],
    [422, 'rule-violation', 'business-rule'],
    [429, 'throttled', 'throttled'],
    [500, 'internal', 'exception'],
    [503, 'unavailable', 'transient'],
    [418, 'teapot', 'processing'],
  ])('%i → %s → %s, status kept, valid R4', (status, slug, code) => {
    const { status: kept, outcome } = toOperationOutcome(problem(status, slug));
    expect(kept).toBe(status);
    expectValidFhir(outcome);
    expect(outcome.issue).toEqual([
      {
        severity: status >= 500 ? 'fatal' : 'error',
        code,
        details: { coding: [{ system: 'urn:caregrid:problem', code: slug }], text: 'T: D' },
        diagnostics: 'D',
      },
    ]);
  });

  it('field errors become one issue each: body fields as FHIRPath, search parameters named', () => {
    const { outcome } = toOperationOutcome(
      problem(400, 'invalid', {
        errors: [
          { path: 'body.participant.1.actor.reference', message: 'must be Patient/<id>' },
          { path: 'query.date.1', message: 'prefix ne is not supported' },
          { path: 'headers.if-match', message: 'expected "<version>"' },
        ],
      }),
      { resourceType: 'Appointment' },
    );
    expectValidFhir(outcome);
    expect(outcome.issue.map(({ expression, diagnostics }) => ({ expression, diagnostics }))).toEqual([
      { expression: ['Appointment.participant[1].actor.reference'], diagnostics: 'must be Patient/<id>' },
      { expression: undefined, diagnostics: 'search parameter date: prefix ne is not supported' },
      { expression: undefined, diagnostics: 'headers.if-match: expected "<version>"' },
    ]);
  });

  it('a problem of another origin keeps its title', () => {
    const { outcome } = toOperationOutcome({ type: 'about:blank', title: 'Bad gateway', status: 502 });
    expectValidFhir(outcome);
    expect(outcome.issue).toEqual([{ severity: 'fatal', code: 'exception', details: { text: 'Bad gateway' } }]);
  });
});

describe('CapabilityStatement', () => {
  // Service routes as the access model's endpoint table names them; the JSON API's are not FHIR's.
  const routes = [
    'GET /patients',
    'GET /fhir/Patient',
    'GET /fhir/Patient/:id',
    'GET /fhir/Appointment',
    'GET /fhir/Appointment/:id',
    'POST /fhir/Appointment',
    'PUT /fhir/Appointment/:id',
    'PATCH /fhir/Appointment/:id',
    'GET /fhir/Slot',
    'GET /fhir/Slot/:id',
    'GET /fhir/Practitioner/:id',
    'POST /fhir/Practitioner/:id/$everything',
  ];
  const statement = capabilityStatement({
    baseUrl: 'https://clinic.example/api/fhir',
    date: '2026-03-01',
    version: '0.1.0',
    routes,
  }) as unknown as {
    fhirVersion: string;
    format: string[];
    rest: {
      resource: {
        type: string;
        interaction: { code: string }[];
        searchParam?: { name: string; type: string }[];
        operation?: { name: string; definition: string }[];
      }[];
      searchParam: { name: string }[];
    }[];
  };

  it('is valid R4: 4.0.1, JSON and application/fhir+json', () => {
    expectValidFhir(statement);
    expect(statement.fhirVersion).toBe('4.0.1');
    expect(statement.format).toEqual(['json', 'application/fhir+json']);
  });

  it('states the interactions and operations of the routes, in the specification’s order, and nothing else', () => {
    const [rest] = statement.rest;
    expect(rest!.resource.map((r) => [r.type, r.interaction.map((i) => i.code)])).toEqual([
      ['Patient', ['read', 'search-type']],
      ['Appointment', ['read', 'update', 'patch', 'create', 'search-type']],
      ['Slot', ['read', 'search-type']],
      ['Practitioner', ['read']],
    ]);
    const practitioner = rest!.resource.find((r) => r.type === 'Practitioner')!;
    expect(practitioner.operation).toEqual([
      { name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Practitioner-everything' },
    ]);
    // No search offered, no search parameters stated.
    expect(practitioner.searchParam).toBeUndefined();
  });

  it('reads every route shape FHIR has, and refuses one it cannot state', () => {
    expect(
      [
        'GET /fhir/Patient',
        'POST /fhir/Patient',
        'GET /fhir/Patient/:id',
        'PUT /fhir/Patient/:id',
        'PATCH /fhir/Patient/:id',
        'DELETE /fhir/Patient/:id',
        'GET /fhir/Patient/_history',
        'GET /fhir/Patient/:id/_history',
        'GET /fhir/Patient/:id/_history/:vid',
        'POST /fhir/Patient/$match',
        'GET /fhir/Patient/:id/$everything',
      ].map(fhirRouteMeaning),
    ).toEqual([
      { type: 'Patient', interaction: 'search-type' },
      { type: 'Patient', interaction: 'create' },
      { type: 'Patient', interaction: 'read' },
      { type: 'Patient', interaction: 'update' },
      { type: 'Patient', interaction: 'patch' },
      { type: 'Patient', interaction: 'delete' },
      { type: 'Patient', interaction: 'history-type' },
      { type: 'Patient', interaction: 'history-instance' },
      { type: 'Patient', interaction: 'vread' },
      { type: 'Patient', operation: 'match' },
      { type: 'Patient', operation: 'everything' },
    ]);
    expect(fhirRouteMeaning('GET /patients/:id')).toBeUndefined();
    for (const odd of ['DELETE /fhir/Patient', 'GET /fhir/Patient/:id/notes', 'PUT /fhir/Patient/$match', 'GET /fhir/patient/:id']) {
      expect(() => fhirRouteMeaning(odd)).toThrow(/no FHIR interaction/);
    }
    expect(() => fhirOffer(['GET /fhir/Observation'])).not.toThrow();
    expect(() => capabilityStatement({ baseUrl: 'x', date: '2026-03-01', routes: ['GET /fhir/Observation'] })).toThrow(/SEARCH_PARAMS/);
  });

  it('lists the parameters the parsers accept, for every searchable type', () => {
    const all = capabilityStatement({
      baseUrl: 'https://clinic.example/api/fhir',
      date: '2026-03-01',
      routes: Object.keys(SEARCH_PARAMS).map((type) => `GET /fhir/${type}`),
    }) as unknown as typeof statement;
    const [rest] = all.rest;
    expect(rest!.resource.map((r) => r.type).sort()).toEqual(Object.keys(SEARCH_PARAMS).sort());
    for (const resource of rest!.resource) {
      const type = resource.type as keyof typeof SEARCH_PARAMS;
      expect(resource.searchParam!.map((p) => p.name)).toEqual(Object.keys(SEARCH_PARAMS[type]));
      expect(resource.searchParam!.map((p) => p.type)).toEqual(Object.values(SEARCH_PARAMS[type]).map((p) => p.type));
    }
    expect(rest!.searchParam.map((p) => p.name)).toEqual(Object.keys(COMMON_PARAMS));
    expect(rest!.searchParam.map((p) => p.name)).toContain('_summary');
    // The issue's minimum is there.
    const names = Object.fromEntries(rest!.resource.map((r) => [r.type, r.searchParam!.map((p) => p.name)]));
    expect(names).toMatchObject({
      Patient: expect.arrayContaining(['name', 'identifier', 'birthdate']),
      Appointment: expect.arrayContaining(['patient', 'practitioner', 'date', 'status']),
      Slot: expect.arrayContaining(['schedule.actor', 'practitioner', 'start']),
      CommunicationRequest: expect.arrayContaining(['patient', 'subject', 'about', 'status']),
      Communication: expect.arrayContaining(['patient', 'subject', 'about', 'based-on', 'status']),
    });
  });
});
