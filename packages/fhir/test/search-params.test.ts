import { z } from 'zod';
import { appointmentListQuery, COMMON_PARAMS, pageLinks, parseSearch, SEARCH_PARAMS, SEARCHABLE_TYPES, Systems } from '../src/index.js';
import { ids } from './fixtures.js';

function refused(type: Parameters<typeof parseSearch>[0], query: unknown): { path: string; message: string }[] {
  try {
    parseSearch(type, query);
  } catch (error) {
    if (error instanceof z.ZodError) return error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(query)}`);
}
const refusedPaths = (type: Parameters<typeof parseSearch>[0], query: unknown) => refused(type, query).map((i) => i.path);

describe('common parameters', () => {
  it('_count defaults to 20 and takes 1–100; _cursor passes through; _format accepts the JSON forms', () => {
    expect(parseSearch('Patient', {})).toEqual({ count: 20 });
    expect(parseSearch('Patient', { _count: '100', _cursor: 'WyIyMDI2Il0', _format: 'application/fhir+json' })).toEqual({
      count: 100,
      cursor: 'WyIyMDI2Il0',
    });
    for (const bad of ['0', '101', '2.5', '-1', 'ten', '']) expect(refusedPaths('Patient', { _count: bad })).toEqual(['query._count']);
    expect(refusedPaths('Patient', { _cursor: 'not a cursor!' })).toEqual(['query._cursor']);
    expect(refusedPaths('Patient', { _format: 'xml' })).toEqual(['query._format']);
    expect(refusedPaths('Patient', { _count: ['10', '20'] })).toEqual(['query._count']);
  });

  it('_summary=count asks for the total alone; other summaries are refused', () => {
    expect(parseSearch('Appointment', { status: 'booked', _summary: 'count' })).toEqual({ status: 'booked', count: 20, summary: 'count' });
    for (const bad of ['true', 'text', 'data', 'false', 'COUNT'])
      expect(refusedPaths('Patient', { _summary: bad })).toEqual(['query._summary']);
  });

  it('refuses unknown parameters, modifiers and nested values, naming them', () => {
    expect(refused('Patient', { address: 'Berlin' })).toEqual([
      { path: 'query.address', message: expect.stringMatching(/^unknown search parameter \(supported: _count/) },
    ]);
    expect(refused('Patient', { 'name:missing': 'true' })).toEqual([
      { path: 'query.name:missing', message: 'modifier :missing is not supported (supported: :exact, :contains)' },
    ]);
    expect(refusedPaths('Patient', { 'birthdate:exact': '1984', _sort: 'name', _include: 'x' })).toEqual([
      'query.birthdate:exact',
      'query._sort',
      'query._include',
    ]);
    expect(refusedPaths('Patient', { name: { $ne: 'x' } })).toEqual(['query.name']);
    expect(refusedPaths('Appointment', { patient: `Patient/${ids.patient}`, practitioner: 'x', bogus: '1' })).toEqual([
      'query.practitioner',
      'query.bogus',
    ]);
  });
});

describe('Patient', () => {
  it('name, identifier with or without system, birthdate with prefixes', () => {
    expect(parseSearch('Patient', { name: ' Ann ', identifier: `${Systems.patientId}|${ids.patient}`, birthdate: '1984-02-29' })).toEqual({
      name: 'Ann',
      identifier: { system: Systems.patientId, value: ids.patient },
      birthdate: { from: '1984-02-29', to: '1984-03-01' },
      count: 20,
    });
    expect(parseSearch('Patient', { identifier: 'A123456789' }).identifier).toEqual({ value: 'A123456789' });
    expect(parseSearch('Patient', { identifier: '|A123456789' }).identifier).toEqual({ value: 'A123456789' });
    expect(parseSearch('Patient', { birthdate: '1984' }).birthdate).toEqual({ from: '1984-01-01', to: '1985-01-01' });
    expect(parseSearch('Patient', { birthdate: '1984-02' }).birthdate).toEqual({ from: '1984-02-01', to: '1984-03-01' });
    expect(parseSearch('Patient', { birthdate: 'ge1980-06-01' }).birthdate).toEqual({ from: '1980-06-01' });
    expect(parseSearch('Patient', { birthdate: 'gt1980-06-01' }).birthdate).toEqual({ from: '1980-06-02' });
    expect(parseSearch('Patient', { birthdate: 'le1980-06' }).birthdate).toEqual({ to: '1980-07-01' });
    expect(parseSearch('Patient', { birthdate: 'lt1980' }).birthdate).toEqual({ to: '1980-01-01' });
    expect(parseSearch('Patient', { birthdate: ['ge1980', 'lt1990'] }).birthdate).toEqual({ from: '1980-01-01', to: '1990-01-01' });
  });

  it('refuses bad values', () => {
    for (const birthdate of ['1984-02-30', '84-01-01', 'ne1980', 'sa1980', 'ap1980', '1984-02-29T10:00:00Z', '1800', 'ge', ''])
      expect(refusedPaths('Patient', { birthdate })).toEqual(['query.birthdate']);
    expect(refusedPaths('Patient', { birthdate: ['ge1980', '1984-13'] })).toEqual(['query.birthdate.1']);
    for (const identifier of ['urn:other|1', `${Systems.patientId}|not-a-uuid`, `${Systems.patientId}|`])
      expect(refusedPaths('Patient', { identifier })).toEqual(['query.identifier']);
    expect(refusedPaths('Patient', { name: 'x'.repeat(101) })).toEqual(['query.name']);
    expect(refusedPaths('Patient', { identifier: ['A1', 'A2'] })).toEqual(['query.identifier']);
  });
});

describe('Appointment', () => {
  it('patient and practitioner references, status (with or without its system), a date range from repeated date', () => {
    const search = parseSearch('Appointment', {
      patient: `Patient/${ids.patient}`,
      practitioner: ids.doctor.toUpperCase(),
      status: `${Systems.appointmentStatus}|cancelled`,
      'service-type': `${Systems.hl7ServiceType}|57`,
      date: ['ge2026-03-01', 'lt2026-04-01'],
      _count: '50',
    });
    expect(search).toEqual({
      patientId: ids.patient,
      practitionerId: ids.doctor,
      status: 'cancelled',
      serviceType: 'vaccination',
      date: { from: '2026-03-01T00:00:00.000Z', to: '2026-04-01T00:00:00.000Z' },
      count: 50,
    });
    expect(appointmentListQuery(search)).toEqual({
      patientId: ids.patient,
      doctorId: ids.doctor,
      status: 'cancelled',
      serviceType: 'vaccination',
      from: '2026-03-01T00:00:00.000Z',
      to: '2026-04-01T00:00:00.000Z',
      limit: 50,
      cursor: undefined,
    });
  });

  it('date-times by precision and zone; the narrowest bounds win', () => {
    const date = (value: string | string[]) => parseSearch('Appointment', { date: value }).date;
    expect(date('2026-03-02T09:00+01:00')).toEqual({ from: '2026-03-02T08:00:00.000Z', to: '2026-03-02T08:01:00.000Z' });
    expect(date('2026-03-02T09:00:30Z')).toEqual({ from: '2026-03-02T09:00:30.000Z', to: '2026-03-02T09:00:31.000Z' });
    expect(date('gt2026-03-02T09:00:30.250Z')).toEqual({ from: '2026-03-02T09:00:30.251Z' });
    expect(date('le2026-03')).toEqual({ to: '2026-04-01T00:00:00.000Z' });
    expect(date(['ge2026-01-01', 'ge2026-03-01', 'lt2026-12-01', 'le2026-06'])).toEqual({
      from: '2026-03-01T00:00:00.000Z',
      to: '2026-07-01T00:00:00.000Z',
    });
  });

  it('refuses bad references, statuses and dates', () => {
    for (const patient of ['Practitioner/' + ids.patient, 'Patient/42', 'Ann'])
      expect(refusedPaths('Appointment', { patient })).toEqual(['query.patient']);
    for (const status of ['arrived', 'booked,cancelled', 'urn:other|booked'])
      expect(refusedPaths('Appointment', { status })).toEqual(['query.status']);
    for (const date of ['2026-03-02T09:00', '2026-03-02T25:00Z', 'eb2026-03-02', '2026-3-2'])
      expect(refusedPaths('Appointment', { date })).toEqual(['query.date']);
  });
});

describe('Slot', () => {
  it('the practitioner by schedule.actor or practitioner, start bounds', () => {
    expect(parseSearch('Slot', { 'schedule.actor': `Practitioner/${ids.doctor}`, start: ['ge2026-03-02', 'lt2026-03-09'] })).toEqual({
      practitionerId: ids.doctor,
      start: { from: '2026-03-02T00:00:00.000Z', to: '2026-03-09T00:00:00.000Z' },
      count: 20,
    });
    expect(parseSearch('Slot', { practitioner: ids.doctor })).toEqual({ practitionerId: ids.doctor, start: {}, count: 20 });
  });

  it('needs exactly one practitioner, and at most 31 days', () => {
    expect(refusedPaths('Slot', {})).toEqual(['query.schedule.actor']);
    expect(refusedPaths('Slot', { practitioner: ids.doctor, 'schedule.actor': `Practitioner/${ids.doctor}` })).toEqual([
      'query.schedule.actor',
    ]);
    expect(refusedPaths('Slot', { 'schedule.actor': `Patient/${ids.patient}` })).toEqual(['query.schedule.actor']);
    expect(refusedPaths('Slot', { practitioner: ids.doctor, start: ['ge2026-03-01', 'lt2026-04-02'] })).toEqual(['query.start']);
    expect(parseSearch('Slot', { practitioner: ids.doctor, start: ['ge2026-03-01', 'lt2026-04-01'] }).start.to).toBe(
      '2026-04-01T00:00:00.000Z',
    );
  });
});

describe('name parameters', () => {
  it('a plain name is the search text; modifiers, family and given are name criteria, ANDed', () => {
    expect(parseSearch('Patient', { name: 'ann', 'name:exact': 'Müller', 'family:contains': 'ull', given: ' Ma ' })).toMatchObject({
      name: 'ann',
      names: [
        { part: 'name', match: 'exact', value: 'Müller' },
        { part: 'family', match: 'contains', value: 'ull' },
        { part: 'given', match: 'start', value: 'Ma' },
      ],
    });
    expect(parseSearch('Practitioner', { 'given:exact': 'Ann' }).names).toEqual([{ part: 'given', match: 'exact', value: 'Ann' }]);
    expect(parseSearch('Patient', { given: ['ann', 'mar'] }).names).toEqual([
      { part: 'given', match: 'start', value: 'ann' },
      { part: 'given', match: 'start', value: 'mar' },
    ]);
    expect(refusedPaths('Patient', { 'family:exact': ['a', ''] })).toEqual(['query.family:exact.1']);
  });
});

describe('Schedule', () => {
  it("names one practitioner's schedule by actor (Practitioner/<id> or the id), which it needs", () => {
    expect(parseSearch('Schedule', { actor: `Practitioner/${ids.doctor}` })).toEqual({ practitionerId: ids.doctor, count: 20 });
    expect(parseSearch('Schedule', { actor: ids.doctor.toUpperCase(), _summary: 'count' })).toEqual({
      practitionerId: ids.doctor,
      count: 20,
      summary: 'count',
    });
    expect(refusedPaths('Schedule', {})).toEqual(['query.actor']);
    expect(refusedPaths('Schedule', { actor: `Patient/${ids.patient}` })).toEqual(['query.actor']);
    expect(refusedPaths('Schedule', { actor: [ids.doctor, ids.doctor] })).toEqual(['query.actor']);
  });
});

describe('Practitioner, PractitionerRole, Invoice', () => {
  it('parse their parameters and refuse bad ones', () => {
    expect(parseSearch('Practitioner', { name: 'Quinn' })).toEqual({ name: 'Quinn', count: 20 });
    expect(parseSearch('PractitionerRole', { specialty: `${Systems.specialization}|cardiology`, active: 'true' })).toEqual({
      specialty: 'cardiology',
      active: true,
      count: 20,
    });
    expect(parseSearch('Invoice', { patient: `Patient/${ids.patient}`, status: 'balanced' })).toEqual({
      patientId: ids.patient,
      status: 'balanced',
      count: 20,
    });
    expect(refusedPaths('PractitionerRole', { specialty: 'astrology', active: 'yes' })).toEqual(['query.specialty', 'query.active']);
    expect(refusedPaths('Invoice', { status: 'paid' })).toEqual(['query.status']);
  });
});

describe('every table entry parses a documented example (no parameter is declared but unusable)', () => {
  const examples: Record<string, string> = {
    _count: '5',
    _cursor: 'abc',
    _format: 'json',
    _summary: 'count',
    name: 'Ann',
    family: 'Berg',
    given: 'Ann',
    identifier: 'A1',
    birthdate: '1984',
    specialty: 'cardiology',
    active: 'false',
    patient: ids.patient,
    practitioner: ids.doctor,
    date: '2026',
    status: 'booked',
    'schedule.actor': ids.doctor,
    actor: `Practitioner/${ids.doctor}`,
    start: 'ge2026-03-01',
    subject: `Patient/${ids.patient}`,
    about: ids.appointment,
    'based-on': `CommunicationRequest/${ids.appointment}`,
    'service-type': 'checkup',
  };
  const statusExample: Partial<Record<string, string>> = { Invoice: 'issued', CommunicationRequest: 'active', Communication: 'completed' };
  it.each(SEARCHABLE_TYPES)('%s', (type) => {
    for (const name of [...Object.keys(COMMON_PARAMS), ...Object.keys(SEARCH_PARAMS[type])]) {
      // Slot and Schedule searches need their practitioner beside any other parameter.
      const query =
        type === 'Slot' && name !== 'schedule.actor' && name !== 'practitioner'
          ? { practitioner: ids.doctor, [name]: examples[name]! }
          : type === 'Schedule' && name !== 'actor'
            ? { actor: ids.doctor, [name]: examples[name]! }
            : { [name]: examples[name]! };
      if (name === 'status' && statusExample[type]) query.status = statusExample[type];
      expect(() => parseSearch(type, query)).not.toThrow();
    }
  });
});

describe('page links', () => {
  it('self is the request; next is the same search with our cursor in _cursor (replacing the previous one)', () => {
    const url = 'https://clinic.example/api/fhir/Appointment?patient=Patient%2Fx&date=ge2026-03-01&date=lt2026-04-01&_count=2&_cursor=old';
    expect(pageLinks(url, null)).toEqual({ selfUrl: url });
    const { nextUrl } = pageLinks(url, 'WyJuZXh0Il0');
    const next = new URL(nextUrl!);
    expect(next.searchParams.getAll('date')).toEqual(['ge2026-03-01', 'lt2026-04-01']);
    expect(next.searchParams.getAll('_cursor')).toEqual(['WyJuZXh0Il0']);
    expect(next.searchParams.get('_count')).toBe('2');
    // And the next link's query parses as a search again.
    const query: Record<string, string | string[]> = {};
    for (const key of new Set(next.searchParams.keys())) {
      const all = next.searchParams.getAll(key);
      query[key] = all.length > 1 ? all : all[0]!;
    }
    expect(parseSearch('Appointment', { ...query, patient: ids.patient }).cursor).toBe('WyJuZXh0Il0');
  });
});
