/**
 * The URIs our resources name: our own code systems and identifier systems
 * (URNs, since CareGrid owns no web domain for them) and the external ones we
 * code against. One place, so emitted resources, parsers and the
 * CapabilityStatement agree.
 */
export const FHIR_VERSION = '4.0.1';
export const FHIR_JSON = 'application/fhir+json';

export const Systems = {
  /** Our appointment service types (consultation, surgery…), the codes of SERVICE_TYPES. */
  serviceType: 'urn:caregrid:service-type',
  /** Our doctor specializations, the codes of SPECIALIZATIONS. */
  specialization: 'urn:caregrid:specialization',
  /** Identifier systems. */
  patientId: 'urn:caregrid:patient',
  insurancePolicy: 'urn:caregrid:insurance-policy',
  licenseNumber: 'urn:caregrid:license-number',
  invoiceNumber: 'urn:caregrid:invoice-number',
  /** Our kinds of mail about an appointment (confirmation, reminder…), the codes of NOTICE_KINDS. */
  noticeKind: 'urn:caregrid:notice-kind',
  /** The problem types of our problem+json answers (`urn:caregrid:problem:<slug>`). */
  problem: 'urn:caregrid:problem',
  snomed: 'http://snomed.info/sct',
  /** HL7's service types (the R4 example value set of Appointment/Slot.serviceType). */
  hl7ServiceType: 'http://terminology.hl7.org/CodeSystem/service-type',
  v2IdentifierType: 'http://terminology.hl7.org/CodeSystem/v2-0203',
  appointmentStatus: 'http://hl7.org/fhir/appointmentstatus',
  invoiceStatus: 'http://hl7.org/fhir/invoice-status',
  requestStatus: 'http://hl7.org/fhir/request-status',
  eventStatus: 'http://hl7.org/fhir/event-status',
  communicationCategory: 'http://terminology.hl7.org/CodeSystem/communication-category',
  communicationNotDoneReason: 'http://terminology.hl7.org/CodeSystem/communication-not-done-reason',
  participationMode: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationMode',
} as const;

/** Our extensions (no standard element carries these facts). */
export const Extensions = {
  /** IANA time zone of a PractitionerRole's availableTime (FHIR `time` has no zone). */
  timeZone: 'urn:caregrid:fhir:extension:time-zone',
  /** The Appointment an Invoice bills (R4 Invoice has no element for it). */
  invoiceAppointment: 'urn:caregrid:fhir:extension:appointment',
} as const;

export type Reference = { reference: string; display?: string };

/** References use our ids: `Patient/<id>`, `Practitioner/<id>`. */
export const reference = (type: string, id: string, display?: string): Reference =>
  display === undefined ? { reference: `${type}/${id}` } : { reference: `${type}/${id}`, display };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `Patient/<id>` (or an absolute URL ending so) → type and id; our ids are UUIDs (lower-cased here). */
export function parseReference(value: string): { type: string; id: string } | undefined {
  const match = /(?:^|\/)([A-Z][A-Za-z]+)\/([^/]+)$/.exec(value);
  if (!match || !UUID.test(match[2]!)) return undefined;
  return { type: match[1]!, id: match[2]!.toLowerCase() };
}

export const isUuid = (value: string) => UUID.test(value);

export type Coding = { system: string; code: string; display?: string };
export type CodeableConcept = { coding?: Coding[]; text?: string };

/** A FHIR resource as this package emits it: a JSON object with its type and (for ours) an id. */
export type Resource = { resourceType: string; id?: string; [element: string]: unknown };

/** Drops undefined members so emitted JSON has no empty elements (FHIR forbids `null` and empty values). */
export function compact<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))) as T;
}
