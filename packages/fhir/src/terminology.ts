import { SERVICE_TYPES, SPECIALIZATIONS } from '@caregrid/contracts';
import type { ServiceType, Specialization } from './records.js';
import { Systems, type CodeableConcept, type Coding } from './systems.js';

/**
 * Our closed vocabularies against the standard ones, one table each, read in
 * both directions: the codings we emit (standard first, ours second) and the
 * codes a client may search or book with (either system). A value with no
 * fitting standard code is `null`: it is sent with our coding only, since a
 * near miss would tell other systems something we do not mean.
 */
export type StandardCode = { code: string; display: string };

/**
 * Specializations → SNOMED CT practice settings of the R4 value set
 * http://hl7.org/fhir/ValueSet/c80-practice-codes (PractitionerRole.specialty's
 * preferred binding). Displays are SNOMED's preferred terms, which validators
 * check; the value set's own labels differ for two ("Surgery-general",
 * "Surgery-Trauma and orthopedics").
 */
export const SPECIALTY_CODES: Record<Specialization, StandardCode | null> = {
  cardiology: { code: '394579002', display: 'Cardiology' },
  dermatology: { code: '394582007', display: 'Dermatology' },
  neurology: { code: '394591006', display: 'Neurology' },
  orthopedics: { code: '394801008', display: 'Trauma and orthopedics' },
  // The value set has pediatric subspecialties (cardiology, surgery…) but no general pediatrics;
  // SNOMED's 394537008 "Pediatric specialty" lies outside it.
  pediatrics: null,
  psychiatry: { code: '394587001', display: 'Psychiatry' },
  radiology: { code: '394914008', display: 'Radiology' },
  surgery: { code: '394609007', display: 'General surgery' },
  urology: { code: '394612005', display: 'Urology' },
  'general-practice': { code: '394814009', display: 'General practice' },
};

/**
 * Service types → http://terminology.hl7.org/CodeSystem/service-type. That
 * system names kinds of service provider (Cardiology, General Practice,
 * Immunization…), not kinds of visit: only a vaccination has its code. A
 * consultation, a check-up or a follow-up can be with any specialist, and its
 * "Surgery - General" is the general surgeon's discipline, not an operation by
 * any of ours.
 */
export const SERVICE_TYPE_CODES: Record<ServiceType, StandardCode | null> = {
  consultation: null,
  surgery: null,
  vaccination: { code: '57', display: 'Immunization' },
  checkup: null,
  'follow-up': null,
};

type Vocabulary<C extends string> = { ours: string; standard: string; codes: readonly C[]; table: Record<C, StandardCode | null> };

const SPECIALTY: Vocabulary<Specialization> = {
  ours: Systems.specialization,
  standard: Systems.snomed,
  codes: SPECIALIZATIONS,
  table: SPECIALTY_CODES,
};
const SERVICE_TYPE: Vocabulary<ServiceType> = {
  ours: Systems.serviceType,
  standard: Systems.hl7ServiceType,
  codes: SERVICE_TYPES,
  table: SERVICE_TYPE_CODES,
};

function codingsOf<C extends string>(vocabulary: Vocabulary<C>, code: C): Coding[] {
  const standard = vocabulary.table[code];
  const ours = { system: vocabulary.ours, code };
  return standard ? [{ system: vocabulary.standard, ...standard }, ours] : [ours];
}

/**
 * A code of either system → ours. Without a system (a bare search token) both
 * are tried: ours are words, the standard ones digits, so they cannot collide.
 */
function oursOf<C extends string>(vocabulary: Vocabulary<C>, system: string | undefined, code: string): C | undefined {
  if (system === undefined || system === vocabulary.ours) {
    const ours = vocabulary.codes.find((candidate) => candidate === code);
    if (ours !== undefined || system !== undefined) return ours;
  }
  if (system === undefined || system === vocabulary.standard) {
    return vocabulary.codes.find((candidate) => vocabulary.table[candidate]?.code === code);
  }
  return undefined;
}

const isSpecialization = (value: string): value is Specialization => (SPECIALIZATIONS as readonly string[]).includes(value);

/** A specialization as `specialty`: SNOMED CT where it has one, ours beside it. Free text stays text. */
export function specialtyConcept(specialization: string): CodeableConcept {
  if (!isSpecialization(specialization)) return { text: specialization };
  return { coding: codingsOf(SPECIALTY, specialization), text: SPECIALTY_CODES[specialization]?.display ?? specialization };
}

/** A service type as `serviceType`: HL7's code where it has one, ours beside it. */
export function serviceTypeConcept(serviceType: ServiceType): CodeableConcept {
  return { coding: codingsOf(SERVICE_TYPE, serviceType), text: serviceType };
}

/** Our specialization of a code (ours or SNOMED CT), `system` as given (undefined: either). */
export const specializationOfCode = (system: string | undefined, code: string) => oursOf(SPECIALTY, system, code);

/** Our service type of a code (ours or HL7's), `system` as given (undefined: either). */
export const serviceTypeOfCode = (system: string | undefined, code: string) => oursOf(SERVICE_TYPE, system, code);

/** The systems a specialty or service-type token may name. */
export const SPECIALTY_SYSTEMS = [SPECIALTY.ours, SPECIALTY.standard] as const;
export const SERVICE_TYPE_SYSTEMS = [SERVICE_TYPE.ours, SERVICE_TYPE.standard] as const;

/** Identifier types of HL7 v2 table 0203 that our identifiers are. */
export const IDENTIFIER_TYPES = {
  /** Our record id of a patient. */
  MR: { code: 'MR', display: 'Medical record number' },
  /** The patient's number with their insurer. */
  MB: { code: 'MB', display: 'Member Number' },
  /** A doctor's licence. */
  MD: { code: 'MD', display: 'Medical License number' },
} as const;

export const identifierType = (type: keyof typeof IDENTIFIER_TYPES, text?: string): CodeableConcept => ({
  coding: [{ system: Systems.v2IdentifierType, ...IDENTIFIER_TYPES[type] }],
  ...(text === undefined ? {} : { text }),
});
