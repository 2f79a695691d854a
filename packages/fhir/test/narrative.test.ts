import {
  capabilityStatement,
  escapeXhtml,
  narrative,
  readableSpan,
  toFhirAppointment,
  toFhirCommunication,
  toFhirCommunicationRequest,
  toFhirInvoice,
  toFhirPatient,
  toFhirPractitioner,
  toFhirPractitionerRole,
  toFhirSchedule,
  toFhirSlots,
  toOperationOutcome,
  type Resource,
} from '../src/index.js';
import { expectValidFhir } from './fhir-schema.js';
import { appointment, confirmation, doctor, freeSlots, invoice, patient, reminder } from './fixtures.js';

const DIV = /^<div xmlns="http:\/\/www\.w3\.org\/1999\/xhtml">[^<>]*\S[^<>]*<\/div>$/;
const divOf = (resource: Resource) => (resource.text as { status: string; div: string }).div;

describe('generated narrative', () => {
  const resources = () => [
    toFhirPatient(patient),
    toFhirPractitioner(doctor),
    toFhirPractitionerRole(doctor),
    toFhirAppointment(appointment),
    toFhirSchedule(doctor),
    ...toFhirSlots(freeSlots, { name: doctor.name }),
    toFhirInvoice(invoice),
    toFhirCommunicationRequest(reminder),
    toFhirCommunication(confirmation),
  ];

  it('every resource we answer has one: generated, one XHTML div of plain text, valid R4', () => {
    for (const resource of resources()) {
      expect({ type: resource.resourceType, status: (resource.text as { status: string }).status }).toEqual({
        type: resource.resourceType,
        status: 'generated',
      });
      expect(divOf(resource)).toMatch(DIV);
      expectValidFhir(resource);
    }
  });

  it('the OperationOutcome says the problem and each field’s complaint; the CapabilityStatement what is served', () => {
    const { outcome } = toOperationOutcome(
      {
        type: 'urn:caregrid:problem:validation',
        title: 'Validation failed',
        status: 400,
        errors: [{ path: 'query.name', message: 'bad <b>' }],
      },
      { resourceType: 'Patient' },
    );
    expect(outcome.text).toEqual({
      status: 'generated',
      div: '<div xmlns="http://www.w3.org/1999/xhtml">Validation failed; search parameter name: bad &lt;b&gt;</div>',
    });
    expectValidFhir(outcome);
    const statement = capabilityStatement({ baseUrl: 'https://x.example/api/fhir', date: '2026-03-01', routes: ['GET /fhir/Patient/:id'] });
    expect(divOf(statement)).toBe('<div xmlns="http://www.w3.org/1999/xhtml">CareGrid FHIR R4 API, as of 2026-03-01: Patient.</div>');
    expectValidFhir(statement);
  });

  it('says who, what and when', () => {
    expect(divOf(toFhirPatient(patient))).toContain('>Ann van der Berg, female, born 1984-02-29<');
    expect(divOf(toFhirPractitionerRole(doctor))).toContain(
      '>Dr. Quinn: General practice, St. Mary (Outpatients); accepting appointments<',
    );
    expect(divOf(toFhirInvoice(invoice))).toMatch(
      new RegExp(`>Invoice ${invoice.number} to ${patient.name} for Dr\\. Quinn, \\d{4}-\\d\\d-\\d\\d: \\d+\\.\\d\\d [A-Z]{3}, `),
    );
  });

  it('escapes what people typed: a name with <script> is text, not markup', () => {
    const name = 'Eve <script>alert("x")</script> & Co';
    const div = divOf(toFhirPatient({ ...patient, name }));
    expect(div).toBe(
      '<div xmlns="http://www.w3.org/1999/xhtml">Eve &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co, female, born 1984-02-29</div>',
    );
    expect(divOf(toFhirAppointment({ ...appointment, patientName: name }))).not.toContain('<script');
    expect(divOf(toFhirPractitioner({ ...doctor, name: '</div><img src=x onerror=alert(1)>' }))).toMatch(DIV);
    expect(escapeXhtml('a\u0000b\u001Fc\td')).toBe('abc\td');
    expect(narrative('1 < 2').div).toBe('<div xmlns="http://www.w3.org/1999/xhtml">1 &lt; 2</div>');
  });

  it('times in UTC, the end shortened on the same day only', () => {
    expect(readableSpan('2026-03-02T09:00:00+01:00', '2026-03-02T08:30:00Z')).toBe('2026-03-02 08:00–08:30 UTC');
    expect(readableSpan('2026-03-02T23:30:00Z', '2026-03-03T00:00:00Z')).toBe('2026-03-02 23:30 UTC – 2026-03-03 00:00 UTC');
  });
});
