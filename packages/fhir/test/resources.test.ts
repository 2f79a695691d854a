import {
  Extensions,
  parseSlotId,
  patientElementOf,
  patientFromFhir,
  slotId,
  Systems,
  toFhirAppointment,
  toFhirInvoice,
  toFhirPatient,
  toFhirPractitioner,
  toFhirPractitionerRole,
  serviceTypeConcept,
  toFhirSchedule,
  toFhirSlot,
  toFhirSlots,
} from '../src/index.js';
import { expectValidFhir, fhirSchemaErrors } from './fhir-schema.js';
import { appointment, doctor, freeSlots, ids, invoice, minimalPatient, patient } from './fixtures.js';

describe('the schema check itself', () => {
  it('refuses what R4 refuses: unknown elements, bad codes, malformed dates, unknown types', () => {
    expect(fhirSchemaErrors({ ...toFhirPatient(patient), nickname: 'Annie' })).not.toEqual([]);
    expect(fhirSchemaErrors({ ...toFhirPatient(patient), gender: 'f' })).not.toEqual([]);
    expect(fhirSchemaErrors({ ...toFhirPatient(patient), birthDate: '1984-02-30T00:00' })).not.toEqual([]);
    expect(fhirSchemaErrors({ resourceType: 'Doctor', id: 'x' })).toEqual(['no FHIR R4 resource type: Doctor']);
  });
});

describe('Patient', () => {
  it('validates against the R4 schema, full and minimal', () => {
    expectValidFhir(toFhirPatient(patient));
    expectValidFhir(toFhirPatient(minimalPatient));
  });

  it('maps identity, contact and the emergency contact; leaves allergies and the account link out', () => {
    // patient-service adds its version to the record it maps (the JSON API answers none).
    const resource = toFhirPatient({ ...patient, version: 3 });
    expect(resource).toMatchObject({
      id: ids.patient,
      meta: { versionId: '3', lastUpdated: patient.updatedAt },
      name: [{ use: 'official', text: 'Ann van der Berg', family: 'van der Berg', given: ['Ann'] }],
      gender: 'female',
      birthDate: '1984-02-29',
      address: [{ text: patient.address }],
      telecom: [
        { system: 'email', value: 'ann@example.org' },
        { system: 'phone', value: '+49 30 1234567' },
      ],
      contact: [{ relationship: [{ text: 'spouse' }], name: { text: 'Bo Berg' }, telecom: [{ system: 'phone', value: '+49 30 7654321' }] }],
    });
    expect(resource.identifier).toEqual([
      {
        use: 'usual',
        type: { coding: [{ system: Systems.v2IdentifierType, code: 'MR', display: 'Medical record number' }] },
        system: Systems.patientId,
        value: ids.patient,
      },
      {
        use: 'secondary',
        type: { coding: [{ system: Systems.v2IdentifierType, code: 'MB', display: 'Member Number' }], text: 'Insurance policy number' },
        system: Systems.insurancePolicy,
        value: 'A123456789',
        assigner: { display: 'TK' },
      },
    ]);
    expect(JSON.stringify(resource)).not.toMatch(/penicillin|userId|c1"/);
  });

  it('reads back what it answers: the JSON API’s body, with allergies and the account link kept from the record', () => {
    expect(patientFromFhir(toFhirPatient(patient), patient)).toEqual({
      family: 'van der Berg',
      given: ['Ann'],
      email: patient.email,
      phone: patient.phone,
      address: patient.address,
      dateOfBirth: patient.dateOfBirth,
      gender: 'female',
      details: patient.details,
      userId: ids.user,
    });
    // A new one: no record to keep anything from, the name's text counts.
    const { id: _id, identifier, ...created } = toFhirPatient(minimalPatient);
    expect(identifier).toHaveLength(1);
    expect(patientFromFhir(created)).toMatchObject({ name: 'Ann van der Berg', details: {}, userId: null, phone: null });
  });

  it.each([
    ['an element CareGrid does not keep', { maritalStatus: { text: 'M' } }, 'body.maritalStatus'],
    ['two names', { name: [{ family: 'A' }, { family: 'B' }] }, 'body.name'],
    ['another id', { id: ids.doctor }, 'body.id'],
    ['no id (an update names it)', { id: undefined }, 'body.id'],
    ['another patient id identifier', { identifier: [{ system: Systems.patientId, value: ids.doctor }] }, 'body.identifier.0.value'],
    ['an unknown identifier system', { identifier: [{ system: 'urn:x', value: '1' }] }, 'body.identifier.0.system'],
    ['a policy without insurer', { identifier: [{ system: Systems.insurancePolicy, value: '1' }] }, 'body.identifier.0.assigner'],
    ['no email', { telecom: [{ system: 'phone', value: '1' }] }, 'body.telecom'],
    ['inactive', { active: false }, 'body.active'],
  ])('refuses %s (a ZodError at the element, nothing silently dropped)', (_, change, path) => {
    const error = (() => {
      try {
        patientFromFhir({ ...toFhirPatient(patient), ...change }, patient);
      } catch (caught) {
        return caught as { issues: { path: (string | number)[] }[] };
      }
      throw new Error('accepted');
    })();
    expect(error.issues.map((issue) => issue.path.join('.'))).toContain(path);
  });

  it('tells the JSON API’s field issues at the Patient’s elements', () => {
    expect(['dateOfBirth', 'given.1', 'email', 'details.emergencyContact.phone', 'userId'].map(patientElementOf)).toEqual([
      'body.birthDate',
      'body.name.0.given.1',
      'body.telecom',
      'body.contact.0.telecom.0.value',
      'userId',
    ]);
  });

  it('emits no empty elements for absent data', () => {
    const resource = toFhirPatient(minimalPatient);
    expect(resource).not.toHaveProperty('address');
    expect(resource).not.toHaveProperty('contact');
    expect(resource.telecom).toEqual([{ system: 'email', value: 'ann@example.org' }]);
    expect(resource.identifier).toHaveLength(1);
  });
});

describe('Practitioner and PractitionerRole', () => {
  it('validate against the R4 schema, accepting or not', () => {
    expectValidFhir(toFhirPractitioner(doctor));
    expectValidFhir(toFhirPractitionerRole(doctor));
    expectValidFhir(toFhirPractitioner({ ...doctor, phone: '+1 555 0100' }));
    expectValidFhir(toFhirPractitionerRole({ ...doctor, accepting: false, workingHours: {}, phone: '+1 555 0100' }));
  });

  it('the practitioner: licence as an MD identifier, version as meta.versionId', () => {
    expect(toFhirPractitioner(doctor)).toMatchObject({
      id: ids.doctor,
      meta: { versionId: '3', lastUpdated: doctor.updatedAt },
      identifier: [{ system: Systems.licenseNumber, value: 'L-4711', type: { coding: [{ code: 'MD' }] } }],
      name: [{ text: 'Dr. Quinn', family: 'Quinn', given: ['Dr.'] }],
      telecom: [{ system: 'email', value: 'quinn@example.org', use: 'work' }],
    });
  });

  it('the role: specialization as SNOMED CT and our code, working hours grouped by interval in the doctor’s zone', () => {
    const role = toFhirPractitionerRole(doctor);
    expect(role).toMatchObject({
      id: ids.doctor,
      active: true,
      practitioner: { reference: `Practitioner/${ids.doctor}`, display: 'Dr. Quinn' },
      organization: { display: 'St. Mary' },
      location: [{ display: 'Outpatients' }],
      extension: [{ url: Extensions.timeZone, valueCode: 'Europe/Berlin' }],
      specialty: [
        {
          coding: [
            { system: Systems.snomed, code: '394814009', display: 'General practice' },
            { system: Systems.specialization, code: 'general-practice' },
          ],
        },
      ],
    });
    expect(role.availableTime).toEqual([
      { daysOfWeek: ['fri'], availableStartTime: '08:30:00', availableEndTime: '12:00:00' },
      { daysOfWeek: ['mon', 'tue'], availableStartTime: '09:00:00', availableEndTime: '12:00:00' },
      { daysOfWeek: ['mon'], availableStartTime: '13:00:00', availableEndTime: '17:00:00' },
    ]);
    expect(role).not.toHaveProperty('availabilityExceptions');
  });

  it('from the public profile: no licence, no telecom, still valid R4', () => {
    const { email: _e, phone: _p, licenseNumber: _l, yearsOfExperience: _y, createdAt: _c, updatedAt: _u, ...profile } = doctor;
    const practitioner = toFhirPractitioner(profile);
    expectValidFhir(practitioner);
    expectValidFhir(toFhirPractitionerRole(profile));
    expect(practitioner).not.toHaveProperty('identifier');
    expect(practitioner).not.toHaveProperty('telecom');
    expect(practitioner.meta).toEqual({ versionId: '3' });
    expect(toFhirPractitionerRole({ ...doctor, phone: '+1 555 0100' })).toHaveProperty('telecom');
    expect(toFhirPractitionerRole({ ...profile, phone: '+1 555 0100' } as typeof profile)).not.toHaveProperty('telecom');
  });

  it('a doctor not accepting appointments is an inactive role, and says so', () => {
    const role = toFhirPractitionerRole({ ...doctor, accepting: false });
    expect(role.active).toBe(false);
    expect(role.availabilityExceptions).toMatch(/not accepting/i);
  });
});

describe('Appointment', () => {
  it('validates against the R4 schema in every status', () => {
    for (const status of ['booked', 'checked-in', 'fulfilled', 'noshow'] as const)
      expectValidFhir(toFhirAppointment({ ...appointment, status }));
    expectValidFhir(toFhirAppointment({ ...appointment, status: 'cancelled', cancellationReason: 'feeling better', reason: null }));
  });

  it('references our ids, carries times, service type, specialty and the reason', () => {
    expect(toFhirAppointment(appointment)).toEqual({
      resourceType: 'Appointment',
      id: ids.appointment,
      meta: { lastUpdated: appointment.updatedAt },
      text: {
        status: 'generated',
        div: `<div xmlns="http://www.w3.org/1999/xhtml">Consultation of ${patient.name} with ${doctor.name}, 2026-03-02 08:00–08:30 UTC: booked</div>`,
      },
      status: 'booked',
      serviceType: [{ coding: [{ system: Systems.serviceType, code: 'consultation' }], text: 'consultation' }],
      specialty: [
        expect.objectContaining({ coding: expect.arrayContaining([{ system: Systems.specialization, code: 'general-practice' }]) }),
      ],
      reasonCode: [{ text: 'persistent cough' }],
      start: '2026-03-02T08:00:00.000Z',
      end: '2026-03-02T08:30:00.000Z',
      minutesDuration: 30,
      created: appointment.createdAt,
      participant: [
        { actor: { reference: `Patient/${ids.patient}`, display: patient.name }, required: 'required', status: 'accepted' },
        { actor: { reference: `Practitioner/${ids.doctor}`, display: doctor.name }, required: 'required', status: 'accepted' },
      ],
    });
  });

  it('a cancelled one carries the reason as cancelationReason', () => {
    expect(toFhirAppointment({ ...appointment, status: 'cancelled', cancellationReason: 'feeling better' })).toMatchObject({
      status: 'cancelled',
      cancelationReason: { text: 'feeling better' },
    });
  });
});

describe('Slot (and the Schedule it names)', () => {
  it('validates against the R4 schema', () => {
    for (const slot of toFhirSlots(freeSlots, { name: doctor.name, specialization: doctor.specialization })) expectValidFhir(slot);
    for (const slot of toFhirSlots(freeSlots)) expectValidFhir(slot);
    expectValidFhir(toFhirSchedule(doctor));
    expectValidFhir(toFhirSchedule(doctor, { start: '2026-03-01T10:00:00.000Z', end: '2026-08-28T10:00:00.000Z' }));
  });

  it("a Schedule is the practitioner's: same id, active while accepting, with the bookable horizon when given", () => {
    const horizon = { start: '2026-03-01T10:00:00.000Z', end: '2026-08-28T10:00:00.000Z' };
    expect(toFhirSchedule(doctor, horizon)).toMatchObject({
      resourceType: 'Schedule',
      id: ids.doctor,
      active: true,
      actor: [{ reference: `Practitioner/${ids.doctor}` }],
      planningHorizon: horizon,
    });
    expect(toFhirSchedule({ ...doctor, accepting: false }).active).toBe(false);
    expect(toFhirSchedule(doctor)).not.toHaveProperty('planningHorizon');
  });

  it('one free Slot per free slot, on the practitioner’s schedule, with an id that names doctor and start', () => {
    const slots = toFhirSlots(freeSlots, { name: doctor.name });
    expect(slots).toEqual([
      {
        resourceType: 'Slot',
        id: `${ids.doctor}.202603020830`,
        text: {
          status: 'generated',
          div: '<div xmlns="http://www.w3.org/1999/xhtml">Free with Dr. Quinn: 2026-03-02 08:30–09:00 UTC</div>',
        },
        schedule: { reference: `Schedule/${ids.doctor}`, display: 'Schedule of Dr. Quinn' },
        status: 'free',
        start: '2026-03-02T08:30:00.000Z',
        end: '2026-03-02T09:00:00.000Z',
      },
      expect.objectContaining({ id: `${ids.doctor}.202603020900` }),
    ]);
    expect(toFhirSchedule(doctor).actor).toEqual([{ reference: `Practitioner/${ids.doctor}`, display: 'Dr. Quinn' }]);
  });

  it('names the service types it can be booked for when they are known (the tariff’s), HL7’s code first', () => {
    const slot = toFhirSlot({ id: ids.doctor, serviceTypes: ['vaccination', 'checkup'] }, freeSlots.slots[0]!);
    expectValidFhir(slot);
    expect(slot.serviceType).toEqual([serviceTypeConcept('vaccination'), serviceTypeConcept('checkup')]);
    expect(toFhirSlots(freeSlots)[0]).not.toHaveProperty('serviceType');
  });

  it('slot ids round-trip, fit FHIR’s id rule, and nonsense is not one', () => {
    const id = slotId(ids.doctor, '2026-03-02T09:00:00+01:00');
    expect(id).toMatch(/^[A-Za-z0-9\-.]{1,64}$/);
    expect(parseSlotId(id)).toEqual({ doctorId: ids.doctor, start: '2026-03-02T08:00:00.000Z' });
    expect(parseSlotId(`${ids.doctor}.202602300900`)).toBeUndefined();
    expect(parseSlotId('not-a-slot')).toBeUndefined();
  });

  it('the two slots of an hour a fall-back repeats have distinct ids (UTC, not wall clock), each read back to its own start', () => {
    // New York 2027-11-07: 01:30 EDT, then 01:30 EST an hour later.
    const starts = ['2027-11-07T05:30:00.000Z', '2027-11-07T06:30:00.000Z'];
    const slotIds = starts.map((start) => slotId(ids.doctor, start));
    expect(slotIds).toEqual([`${ids.doctor}.202711070530`, `${ids.doctor}.202711070630`]);
    expect(slotIds.map((id) => parseSlotId(id)?.start)).toEqual(starts);
  });
});

describe('Invoice', () => {
  it('validates against the R4 schema in every status', () => {
    for (const status of ['draft', 'issued', 'balanced'] as const) expectValidFhir(toFhirInvoice({ ...invoice, status }));
    expectValidFhir(toFhirInvoice({ ...invoice, status: 'cancelled', cancellationReason: 'duplicate', cancelledAt: invoice.issuedAt }));
    expectValidFhir(toFhirInvoice({ ...invoice, taxRateBasisPoints: 0, net: 12_345, tax: 0 }));
  });

  it('amounts are exact decimals of the minor units; number, parties, appointment and terms mapped', () => {
    const resource = toFhirInvoice(invoice);
    expect(resource).toMatchObject({
      identifier: [{ system: Systems.invoiceNumber, value: 'INV-2026-000123' }],
      status: 'issued',
      subject: { reference: `Patient/${ids.patient}` },
      participant: [{ actor: { reference: `Practitioner/${ids.doctor}` } }],
      extension: [{ url: Extensions.invoiceAppointment, valueReference: { reference: `Appointment/${ids.appointment}` } }],
      date: invoice.issuedAt,
      paymentTerms: 'Due 2026-03-16.',
    });
    // The JSON text is what a client reads: exactly these decimals.
    const json = JSON.stringify(resource);
    expect(json).toContain('"totalGross":{"value":123.45,"currency":"EUR"}');
    expect(json).toContain('"totalNet":{"value":103.74,"currency":"EUR"}');
    expect(json).toContain('{"type":"tax","factor":0.19,"amount":{"value":19.71,"currency":"EUR"}}');
    expect(json).toContain('"priceComponent":[{"type":"base","factor":1,"amount":{"value":123.45,"currency":"EUR"}}]');
  });

  it('a cancelled invoice gives its reason', () => {
    expect(toFhirInvoice({ ...invoice, status: 'cancelled', cancellationReason: 'duplicate' }).cancelledReason).toBe('duplicate');
  });
});
