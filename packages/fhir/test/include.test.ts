import {
  everythingBundle,
  everythingSearches,
  includeTargets,
  nextCursorOf,
  parseIncludes,
  revincludeSearches,
  searchset,
  SEARCH_PARAMS,
  SEARCH_REVINCLUDES,
  toFhirAppointment,
  toFhirInvoice,
  toFhirPatient,
  toFhirPractitioner,
  withIncluded,
  type IncludeRequest,
  type IncludeRefusal,
} from '../src/index.js';
import { expectValidFhir } from './fhir-schema.js';
import { appointment, doctor, ids, invoice, patient } from './fixtures.js';

const other = {
  patient: '0190f0a0-0000-7000-8000-00000000001a',
  doctor: '0190f0a0-0000-7000-8000-00000000001d',
  appointment: '0190f0a0-0000-7000-8000-0000000001a1',
};
const BASE = 'https://clinic.example/api/fhir';

const parsed = (type: string, query: string) => parseIncludes(type, new URLSearchParams(query));
const accepted = (type: string, query: string) => {
  const request = parsed(type, query);
  if (!('forwarded' in request)) throw new Error(`refused: ${request.message}`);
  return request as IncludeRequest;
};

/** Two appointments of the fixture's patient and doctor, one of another patient with another doctor. */
const appointments = [
  toFhirAppointment(appointment),
  toFhirAppointment({ ...appointment, id: ids.invoice, start: '2026-03-03T08:00:00.000Z', end: '2026-03-03T08:30:00.000Z' }),
  toFhirAppointment({ ...appointment, id: other.appointment, patientId: other.patient, doctorId: other.doctor }),
];

describe('include parameters', () => {
  it('takes Appointment:patient and :practitioner (also with their target type), once each, the rest forwarded', () => {
    const request = accepted(
      'Appointment',
      '_include=Appointment:patient&date=ge2026-03-01&_include=Appointment:practitioner:Practitioner&_include=Appointment:patient&_count=2',
    );
    expect(request.includes.map((include) => [include.name, include.target])).toEqual([
      ['Appointment:patient', 'Patient'],
      ['Appointment:practitioner', 'Practitioner'],
    ]);
    expect(request.revincludes).toEqual([]);
    expect(request.forwarded.toString()).toBe('date=ge2026-03-01&_count=2');
    expect(request.given).toEqual([
      ['_include', 'Appointment:patient'],
      ['_include', 'Appointment:practitioner:Practitioner'],
      ['_include', 'Appointment:patient'],
    ]);
    expect(accepted('Patient', '_revinclude=Appointment:patient&name=ann').revincludes).toEqual([
      { name: 'Appointment:patient', source: 'Appointment', param: 'patient' },
    ]);
  });

  it('refuses what it does not support, naming the parameter', () => {
    const refusals: [string, string, string][] = [
      ['Appointment', '_include=Appointment:slot', '_include'],
      ['Appointment', '_include=*', '_include'],
      ['Appointment', '_include=', '_include'],
      ['Appointment', '_include=Appointment:patient:Practitioner', '_include'],
      ['Appointment', '_include=Appointment:patient:Patient:x', '_include'],
      ['Appointment', '_include:iterate=Appointment:patient', '_include:iterate'],
      ['Appointment', '_revinclude=Appointment:patient', '_revinclude'],
      ['Patient', '_include=Appointment:patient', '_include'],
      ['Patient', '_revinclude=Invoice:patient', '_revinclude'],
      ['Invoice', 'patient=x&_include=Invoice:patient', '_include'],
    ];
    for (const [type, query, parameter] of refusals) {
      expect([type, query, (parsed(type, query) as IncludeRefusal).parameter]).toEqual([type, query, parameter]);
    }
    expect((parsed('Appointment', '_include=Appointment:slot') as IncludeRefusal).message).toBe(
      'Appointment:slot is not supported (supported on Appointment: Appointment:patient, Appointment:practitioner)',
    );
    expect((parsed('Invoice', '_include=Invoice:patient') as IncludeRefusal).message).toMatch(/Invoice supports none/);
  });

  it('revincludes search by a reference parameter the source type’s search takes', () => {
    for (const [type, names] of Object.entries(SEARCH_REVINCLUDES)) {
      for (const name of names) {
        const [revinclude] = accepted(type, `_revinclude=${name}`).revincludes;
        expect(Object.keys(SEARCH_PARAMS[revinclude!.source as keyof typeof SEARCH_PARAMS])).toContain(revinclude!.param);
      }
    }
  });
});

describe('what a page calls for', () => {
  it('each referenced Patient and Practitioner once, in the order of the includes', () => {
    const { includes } = accepted('Appointment', '_include=Appointment:patient&_include=Appointment:practitioner');
    expect(includeTargets(appointments, includes)).toEqual([
      { type: 'Patient', id: ids.patient },
      { type: 'Patient', id: other.patient },
      { type: 'Practitioner', id: ids.doctor },
      { type: 'Practitioner', id: other.doctor },
    ]);
    const { includes: patients } = accepted('Appointment', '_include=Appointment:patient');
    expect(includeTargets(appointments, patients)).toHaveLength(2);
    expect(includeTargets([], includes)).toEqual([]);
  });

  it('nothing already on the page', () => {
    const { includes } = accepted('Appointment', '_include=Appointment:patient');
    const patientOnPage = { resourceType: 'Patient', id: ids.patient };
    expect(includeTargets([...appointments, patientOnPage], includes)).toEqual([{ type: 'Patient', id: other.patient }]);
  });

  it('a revinclude: one search per match; $everything: the patient’s appointments and invoices', () => {
    const { revincludes } = accepted('Patient', '_revinclude=Appointment:patient');
    const patients = [toFhirPatient(patient), { resourceType: 'Patient', id: other.patient }];
    expect(revincludeSearches(patients, revincludes)).toEqual([
      { type: 'Appointment', params: { patient: ids.patient } },
      { type: 'Appointment', params: { patient: other.patient } },
    ]);
    expect(everythingSearches(ids.patient)).toEqual([
      { type: 'Appointment', params: { patient: ids.patient } },
      { type: 'Invoice', params: { patient: ids.patient } },
    ]);
  });

  it('the next page’s cursor from a next link', () => {
    const page = searchset([], {
      total: 3,
      selfUrl: `${BASE}/Appointment?_count=1`,
      nextUrl: `${BASE}/Appointment?_count=1&_cursor=WyJ4Il0`,
    });
    expect(nextCursorOf(page)).toBe('WyJ4Il0');
    expect(nextCursorOf(searchset([], { total: 0, selfUrl: `${BASE}/Appointment` }))).toBeUndefined();
  });
});

describe('the Bundle', () => {
  const page = searchset(appointments, {
    total: 7,
    selfUrl: `${BASE}/Appointment?date=ge2026-03-01&_count=3`,
    nextUrl: `${BASE}/Appointment?date=ge2026-03-01&_count=3&_cursor=WyJ4Il0`,
  });
  const given: [string, string][] = [
    ['_include', 'Appointment:patient'],
    ['_include', 'Appointment:practitioner'],
  ];

  it('the page’s matches, then each included resource once (mode include); total and links keep to the search, with its include parameters', () => {
    const included = [toFhirPatient(patient), toFhirPractitioner(doctor), toFhirPatient(patient)];
    const bundle = withIncluded(page, included, { given });
    expectValidFhir(bundle);
    expect(bundle.total).toBe(7);
    expect(bundle.entry!.map((entry) => [entry.search.mode, entry.resource.resourceType, entry.fullUrl])).toEqual([
      ['match', 'Appointment', `${BASE}/Appointment/${ids.appointment}`],
      ['match', 'Appointment', `${BASE}/Appointment/${ids.invoice}`],
      ['match', 'Appointment', `${BASE}/Appointment/${other.appointment}`],
      ['include', 'Patient', `${BASE}/Patient/${ids.patient}`],
      ['include', 'Practitioner', `${BASE}/Practitioner/${ids.doctor}`],
    ]);
    const next = new URL(bundle.link.find((l) => l.relation === 'next')!.url);
    expect(next.searchParams.getAll('_include')).toEqual(['Appointment:patient', 'Appointment:practitioner']);
    expect(next.searchParams.get('_cursor')).toBe('WyJ4Il0');
    expect(next.searchParams.get('date')).toBe('ge2026-03-01');
    const self = new URL(bundle.link.find((l) => l.relation === 'self')!.url);
    expect(self.searchParams.getAll('_include')).toHaveLength(2);
  });

  it('an include that is a match already is not repeated; an empty page stays without entries', () => {
    const bundle = withIncluded(page, [appointments[0]!], { given });
    expect(bundle.entry).toHaveLength(3);
    const empty = withIncluded(searchset([], { total: 0, selfUrl: `${BASE}/Appointment?status=booked` }), [], { given });
    expectValidFhir(empty);
    expect(empty.entry).toBeUndefined();
  });

  it('says in an outcome entry when a revinclude brought only part of what it found', () => {
    const patients = searchset([toFhirPatient(patient)], { total: 1, selfUrl: `${BASE}/Patient?name=ann` });
    const search = { type: 'Appointment', params: { patient: ids.patient } };
    const bundle = withIncluded(patients, appointments.slice(0, 2), {
      given: [['_revinclude', 'Appointment:patient']],
      gathered: [{ search, resources: appointments.slice(0, 2), total: 250 }],
    });
    expectValidFhir(bundle);
    const last = bundle.entry!.at(-1)!;
    expect(last.search.mode).toBe('outcome');
    expect(last.resource).toEqual({
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'warning',
          code: 'too-costly',
          diagnostics: `Appointment?patient=${ids.patient}: 2 of 250 included; search it for the rest`,
        },
      ],
    });
    const complete = withIncluded(patients, [], { given: [], gathered: [{ search, resources: [], total: 0 }] });
    expect(complete.entry!.map((entry) => entry.search.mode)).toEqual(['match']);
  });

  it('$everything: the Patient first, then its appointments and invoices, each once, at the FHIR base', () => {
    const selfUrl = `${BASE}/Patient/${ids.patient}/$everything`;
    const appointmentSearch = {
      search: { type: 'Appointment', params: { patient: ids.patient } },
      resources: appointments.slice(0, 2),
      total: 2,
    };
    const invoices = { search: { type: 'Invoice', params: { patient: ids.patient } }, resources: [toFhirInvoice(invoice)], total: 1 };
    const bundle = everythingBundle(toFhirPatient(patient), [appointmentSearch, invoices, appointmentSearch], { selfUrl });
    expectValidFhir(bundle);
    expect(bundle.entry!.map((entry) => entry.fullUrl)).toEqual([
      `${BASE}/Patient/${ids.patient}`,
      `${BASE}/Appointment/${ids.appointment}`,
      `${BASE}/Appointment/${ids.invoice}`,
      `${BASE}/Invoice/${ids.invoice}`,
    ]);
    expect([bundle.total, bundle.link]).toEqual([4, [{ relation: 'self', url: selfUrl }]]);
  });
});
