import { z } from 'zod';
import {
  APPOINTMENT_STATUSES,
  INVOICE_STATUSES,
  SERVICE_TYPES,
  SPECIALIZATIONS,
  type NameCriterion,
  type NameMatch,
} from '@caregrid/contracts';
import {
  COMMUNICATION_REQUEST_STATUSES,
  COMMUNICATION_STATUSES,
  noticeStatusesOfCommunication,
  noticeStatusesOfRequest,
} from './communication.js';
import { boundsOf, DATE_PREFIXES, intersect, intervalOf, type Bounds, type DatePrefix } from './dates.js';
import type { AppointmentStatus, ServiceType, Specialization } from './records.js';
import { FHIR_JSON, isUuid, parseReference, Systems } from './systems.js';
import {
  SERVICE_TYPE_CODES,
  SERVICE_TYPE_SYSTEMS,
  serviceTypeOfCode,
  SPECIALTY_CODES,
  SPECIALTY_SYSTEMS,
  specializationOfCode,
} from './terminology.js';

/**
 * The search parameters we support, one table per resource: each entry parses
 * one raw value and says what the CapabilityStatement states about it, so the
 * parsers and the CapabilityStatement cannot disagree. Unknown parameters,
 * modifiers a parameter does not take and bad values are refused: a zod
 * error at `query.<parameter>`, a 400 OperationOutcome.
 */
export type SearchParamType = 'number' | 'date' | 'string' | 'token' | 'reference';

class Invalid {
  constructor(readonly message: string) {}
}

export type SearchParam<T> = {
  type: SearchParamType;
  /** The canonical SearchParameter it implements (absent for our own and chained ones). */
  definition?: string;
  documentation: string;
  /** May the parameter appear more than once (ANDed)? */
  repeatable?: boolean;
  /** The modifiers it takes (`name:exact`); a parsed value is then `{ match, value }`, match 'start' without one. */
  modifiers?: readonly Exclude<NameMatch, 'start'>[];
  parse: (value: string) => T | Invalid;
};

/** How far a Slot search reaches: the free-slot computation runs per day (the default window is the routes'). */
export const SLOT_SEARCH = { maxDays: 31, defaultDays: 7 } as const;

const spec = <T>(param: SearchParam<T>) => param;
const sp = (name: string) => `http://hl7.org/fhir/SearchParameter/${name}`;

// ---------------------------------------------------------------------------
// Value parsers by search type.

/** `[prefix]value` of a date parameter → bounds on the target (dates.ts). */
function dateBounds(time: boolean) {
  return (raw: string): Bounds | Invalid => {
    const prefixed = /^([a-z]{2})(.*)$/.exec(raw);
    const prefix = (prefixed ? prefixed[1] : 'eq') as DatePrefix;
    if (!(DATE_PREFIXES as readonly string[]).includes(prefix)) {
      return new Invalid(`prefix ${prefix} is not supported (${DATE_PREFIXES.join(', ')})`);
    }
    const interval = intervalOf(prefixed ? prefixed[2]! : raw, { time });
    return typeof interval === 'string' ? new Invalid(interval) : boundsOf(prefix, interval);
  };
}

/** `Type/<id>`, a bare id or an absolute URL ending in `Type/<id>`, of the expected types; our ids are UUIDs. */
function referenceTo(types: string[]) {
  return (raw: string): string | Invalid => {
    if (isUuid(raw)) return raw.toLowerCase();
    const ref = parseReference(raw);
    if (ref && types.includes(ref.type)) return ref.id;
    return new Invalid(`must be ${types.map((t) => `${t}/<id>`).join(' or ')} (or the bare id) with a CareGrid id`);
  };
}

/** `[system|]code` of a token parameter, the system (if given) ours; one code (we filter on one value). */
function tokenOf<C extends string>(codes: readonly C[], system?: string) {
  return (raw: string): C | Invalid => {
    const bar = raw.indexOf('|');
    const [given, code] = bar < 0 ? [undefined, raw] : [raw.slice(0, bar), raw.slice(bar + 1)];
    if (given !== undefined && given !== '' && given !== system)
      return new Invalid(`unknown system ${given}${system ? ` (ours: ${system})` : ''}`);
    if (code.includes(',')) return new Invalid('one value only (several, comma-separated, are not supported)');
    if (!(codes as readonly string[]).includes(code)) return new Invalid(`must be one of ${codes.join(', ')}`);
    return code as C;
  };
}

/**
 * `[system|]code` of a coded parameter whose codes are ours or a standard
 * system's (terminology.ts) → our code; without a system either is taken.
 */
function conceptToken<C extends string>(
  systems: readonly string[],
  resolve: (system: string | undefined, code: string) => C | undefined,
  expected: string,
) {
  return (raw: string): C | Invalid => {
    const bar = raw.indexOf('|');
    const [given, code] = bar < 0 ? [undefined, raw] : [raw.slice(0, bar) || undefined, raw.slice(bar + 1)];
    if (given !== undefined && !systems.includes(given)) return new Invalid(`unknown system ${given} (${systems.join(', ')})`);
    if (code.includes(',')) return new Invalid('one value only (several, comma-separated, are not supported)');
    return resolve(given, code) ?? new Invalid(`must be ${expected}`);
  };
}

const standardCodes = (table: Record<string, { code: string } | null>) =>
  Object.values(table).flatMap((standard) => (standard === null ? [] : [standard.code]));
const snomedSpecialties = standardCodes(SPECIALTY_CODES);
const hl7ServiceTypes = standardCodes(SERVICE_TYPE_CODES);

function text(max: number) {
  return (raw: string): string | Invalid =>
    raw.trim().length === 0 || raw.length > max ? new Invalid(`must be 1–${max} characters`) : raw.trim();
}

/** A string parameter on a name: FHIR's starts-with by default, `:exact` and `:contains` (NameCriterion). */
function nameParam(definition: string, documentation: string) {
  return spec({
    type: 'string',
    definition: sp(definition),
    documentation: `${documentation} Case- and accent-insensitive; :exact matches a whole part as written, :contains anywhere in the name. Repeatable (ANDed).`,
    modifiers: ['exact', 'contains'],
    repeatable: true,
    parse: (raw): { match: NameMatch; value: string } | Invalid => {
      const value = text(100)(raw);
      return value instanceof Invalid ? value : { match: 'start', value };
    },
  });
}

/** `service-type` of Appointment and Slot: our code or HL7's (terminology.ts), bare or with its system. */
function serviceTypeParam(definition: string, meaning: string) {
  return spec({
    type: 'token',
    definition: sp(definition),
    documentation: `[system|]code: ours (${Systems.serviceType}) ${SERVICE_TYPES.join(', ')}, or their HL7 service type (${Systems.hl7ServiceType}) ${hl7ServiceTypes.join(', ')}.${meaning}`,
    parse: conceptToken<ServiceType>(
      SERVICE_TYPE_SYSTEMS,
      serviceTypeOfCode,
      `one of ${SERVICE_TYPES.join(', ')} or of their HL7 codes ${hl7ServiceTypes.join(', ')}`,
    ),
  });
}

// ---------------------------------------------------------------------------
// The tables.

/** Result parameters every search takes: the page size and the cursor of our keyset pagination. */
export const COMMON_PARAMS = {
  _count: spec({
    type: 'number',
    documentation: 'Page size, 1–100 (default 20).',
    parse: (raw) =>
      /^\d+$/.test(raw) && Number(raw) >= 1 && Number(raw) <= 100 ? Number(raw) : new Invalid('must be an integer from 1 to 100'),
  }),
  _cursor: spec({
    type: 'string',
    documentation: "Where the next page starts: opaque, taken from a searchset's next link as it is.",
    parse: (raw) =>
      raw.length > 0 && raw.length <= 512 && /^[A-Za-z0-9_-]+$/.test(raw) ? raw : new Invalid('not a cursor from a next link'),
  }),
  _summary: spec({
    type: 'token',
    documentation: 'count: how many match (the total of a searchset without entries).',
    parse: (raw) => (raw === 'count' ? ('count' as const) : new Invalid('only count is supported')),
  }),
  _format: spec({
    type: 'token',
    documentation: `Response format: json, application/json or ${FHIR_JSON} (all the same JSON).`,
    parse: tokenOf(['json', 'application/json', FHIR_JSON] as const),
  }),
};

export const SEARCH_PARAMS = {
  Patient: {
    name: nameParam('Patient-name', 'The start of any part of the name (without a modifier, also of the e-mail address).'),
    family: nameParam('individual-family', 'The start of any word of the family name.'),
    given: nameParam('individual-given', 'The start of a given name.'),
    identifier: spec({
      type: 'token',
      definition: sp('Patient-identifier'),
      documentation: `[system|]value; systems: ${Systems.patientId} (our id), ${Systems.insurancePolicy}.`,
      parse: (raw): { system?: string; value: string } | Invalid => {
        const bar = raw.indexOf('|');
        const system = bar < 0 ? undefined : raw.slice(0, bar) || undefined;
        const value = bar < 0 ? raw : raw.slice(bar + 1);
        if (value.length === 0 || value.length > 200) return new Invalid('needs a value (system|value or value)');
        if (system !== undefined && system !== Systems.patientId && system !== Systems.insurancePolicy) {
          return new Invalid(`unknown identifier system ${system} (${Systems.patientId}, ${Systems.insurancePolicy})`);
        }
        if (system === Systems.patientId && !isUuid(value)) return new Invalid('a CareGrid patient id is a UUID');
        return system === undefined ? { value } : { system, value };
      },
    }),
    birthdate: spec({
      type: 'date',
      definition: sp('individual-birthdate'),
      documentation: 'YYYY, YYYY-MM or YYYY-MM-DD with eq (default), ge, gt, le or lt; repeatable (ANDed).',
      repeatable: true,
      parse: dateBounds(false),
    }),
  },
  Practitioner: {
    name: nameParam(
      'Practitioner-name',
      'The start of any part of the name (without a modifier and for staff, also of the e-mail address: anyone else searching by one gets 403).',
    ),
    family: nameParam('individual-family', 'The start of any word of the family name.'),
    given: nameParam('individual-given', 'The start of a given name.'),
  },
  PractitionerRole: {
    practitioner: spec({
      type: 'reference',
      definition: sp('PractitionerRole-practitioner'),
      documentation: 'Practitioner/<id> (or the id): the role of that practitioner (each has one).',
      parse: referenceTo(['Practitioner']),
    }),
    specialty: spec({
      type: 'token',
      definition: sp('PractitionerRole-specialty'),
      documentation: `[system|]code: ours (${Systems.specialization}) ${SPECIALIZATIONS.join(', ')}, or their SNOMED CT practice setting (${Systems.snomed}) ${snomedSpecialties.join(', ')}.`,
      parse: conceptToken<Specialization>(
        SPECIALTY_SYSTEMS,
        specializationOfCode,
        `one of ${SPECIALIZATIONS.join(', ')} or of their SNOMED CT codes ${snomedSpecialties.join(', ')}`,
      ),
    }),
    active: spec({
      type: 'token',
      definition: sp('PractitionerRole-active'),
      documentation: 'true: accepting appointments; false: not.',
      parse: (raw) => (raw === 'true' ? true : raw === 'false' ? false : new Invalid('must be true or false')),
    }),
  },
  Appointment: {
    patient: spec({
      type: 'reference',
      definition: sp('Appointment-patient'),
      documentation: 'Patient/<id> (or the id).',
      parse: referenceTo(['Patient']),
    }),
    practitioner: spec({
      type: 'reference',
      definition: sp('Appointment-practitioner'),
      documentation: 'Practitioner/<id> (or the id).',
      parse: referenceTo(['Practitioner']),
    }),
    date: spec({
      type: 'date',
      definition: sp('Appointment-date'),
      documentation:
        'The start: a date (UTC) or a date-time with zone, with eq (default), ge, gt, le or lt; repeatable (ANDed), e.g. date=ge2026-03-01&date=lt2026-04-01.',
      repeatable: true,
      parse: dateBounds(true),
    }),
    status: spec({
      type: 'token',
      definition: sp('Appointment-status'),
      documentation: `One of ${APPOINTMENT_STATUSES.join(', ')}.`,
      parse: tokenOf<AppointmentStatus>(APPOINTMENT_STATUSES, Systems.appointmentStatus),
    }),
    'service-type': serviceTypeParam('Appointment-service-type', ''),
  },
  Slot: {
    'schedule.actor': spec({
      type: 'reference',
      documentation:
        'Chained: the practitioner whose schedule it is, Practitioner/<id> (each practitioner has one schedule). Required, or practitioner.',
      parse: referenceTo(['Practitioner']),
    }),
    practitioner: spec({
      type: 'reference',
      documentation: 'Practitioner/<id>: the same as schedule.actor.',
      parse: referenceTo(['Practitioner']),
    }),
    start: spec({
      type: 'date',
      definition: sp('Slot-start'),
      documentation: `Bounds on the start with eq, ge, gt, le or lt; repeatable (ANDed). At most ${SLOT_SEARCH.maxDays} days are searched (default: the next ${SLOT_SEARCH.defaultDays}).`,
      repeatable: true,
      parse: dateBounds(true),
    }),
    'service-type': serviceTypeParam(
      'Slot-service-type',
      " A practitioner's slots are bookable for the service types of their tariff: their free slots if it has this one, else none.",
    ),
  },
  Schedule: {
    actor: spec({
      type: 'reference',
      definition: sp('Schedule-actor'),
      documentation: 'Practitioner/<id> (or the id): the schedule of that practitioner (each has one). Required.',
      parse: referenceTo(['Practitioner']),
    }),
  },
  Invoice: {
    patient: spec({
      type: 'reference',
      definition: sp('Invoice-patient'),
      documentation: 'Patient/<id> (or the id).',
      parse: referenceTo(['Patient']),
    }),
    status: spec({
      type: 'token',
      definition: sp('Invoice-status'),
      documentation: `One of ${INVOICE_STATUSES.join(', ')}.`,
      parse: tokenOf(INVOICE_STATUSES, Systems.invoiceStatus),
    }),
  },
  CommunicationRequest: {
    patient: spec({
      type: 'reference',
      definition: sp('CommunicationRequest-patient'),
      documentation: 'Patient/<id> (or the id): the reminders of that patient.',
      parse: referenceTo(['Patient']),
    }),
    subject: spec({
      type: 'reference',
      definition: sp('CommunicationRequest-subject'),
      documentation: 'Patient/<id> (or the id): the same as patient.',
      parse: referenceTo(['Patient']),
    }),
    about: spec({
      type: 'reference',
      documentation: 'Appointment/<id> (or the id): the reminders of that appointment (one per time it was booked for).',
      parse: referenceTo(['Appointment']),
    }),
    status: spec({
      type: 'token',
      definition: sp('CommunicationRequest-status'),
      documentation: `One of ${COMMUNICATION_REQUEST_STATUSES.join(', ')}.`,
      parse: tokenOf(COMMUNICATION_REQUEST_STATUSES, Systems.requestStatus),
    }),
  },
  Communication: {
    patient: spec({
      type: 'reference',
      definition: sp('Communication-patient'),
      documentation: 'Patient/<id> (or the id): the mail sent about that patient.',
      parse: referenceTo(['Patient']),
    }),
    subject: spec({
      type: 'reference',
      definition: sp('Communication-subject'),
      documentation: 'Patient/<id> (or the id): the same as patient.',
      parse: referenceTo(['Patient']),
    }),
    about: spec({
      type: 'reference',
      documentation: 'Appointment/<id> (or the id): the mail sent about that appointment.',
      parse: referenceTo(['Appointment']),
    }),
    'based-on': spec({
      type: 'reference',
      definition: sp('Communication-based-on'),
      documentation: 'CommunicationRequest/<id> (or the id): the reminder sent for that request.',
      parse: referenceTo(['CommunicationRequest']),
    }),
    status: spec({
      type: 'token',
      definition: sp('Communication-status'),
      documentation: `One of ${COMMUNICATION_STATUSES.join(', ')}.`,
      parse: tokenOf(COMMUNICATION_STATUSES, Systems.eventStatus),
    }),
  },
} satisfies Record<string, Record<string, SearchParam<unknown>>>;

export type SearchableType = keyof typeof SEARCH_PARAMS;
export const SEARCHABLE_TYPES = Object.keys(SEARCH_PARAMS) as SearchableType[];

// ---------------------------------------------------------------------------
// Parsing a query object (Express's req.query: strings, arrays of strings).

type Table = Record<string, SearchParam<unknown>>;
type Values<T extends Table> = { [K in keyof T]?: T[K] extends SearchParam<infer V> ? V[] : never };

/** A page of a search (`_count`, `_cursor`), or with `summary: 'count'` only how many match. */
export type Paging = { count: number; cursor?: string; summary?: 'count' };

function rawValues(query: unknown, table: Table, ctx: z.RefinementCtx): Values<Table> | undefined {
  if (typeof query !== 'object' || query === null || Array.isArray(query)) {
    ctx.addIssue({ code: 'custom', message: 'not a query', input: query });
    return undefined;
  }
  const values: Values<Table> = {};
  for (const [key, given] of Object.entries(query as Record<string, unknown>)) {
    const [name = key, modifier] = key.split(':', 2) as [string, string | undefined];
    const param = table[name];
    if (param && modifier !== undefined && !(param.modifiers as readonly string[] | undefined)?.includes(modifier)) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `modifier :${modifier} is not supported${param.modifiers ? ` (supported: ${param.modifiers.map((m) => `:${m}`).join(', ')})` : ''}`,
        input: given,
      });
      continue;
    }
    if (!param) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `unknown search parameter (supported: ${Object.keys(table).join(', ')})`,
        input: given,
      });
      continue;
    }
    const list = Array.isArray(given) ? given : [given];
    if (!list.every((value): value is string => typeof value === 'string')) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'must be a plain value', input: given });
      continue;
    }
    if (list.length > 1 && !param.repeatable) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'may be given only once', input: given });
      continue;
    }
    const parsed: unknown[] = [];
    list.forEach((value, index) => {
      const result = value === '' ? new Invalid('must not be empty') : param.parse(value);
      if (result instanceof Invalid)
        ctx.addIssue({ code: 'custom', path: list.length > 1 ? [key, index] : [key], message: result.message, input: value });
      else parsed.push(modifier === undefined ? result : { ...(result as object), match: modifier });
    });
    values[name] = [...(values[name] ?? []), ...parsed];
  }
  return values;
}

/** A zod schema for one resource's search: the table's parameters and the common ones, combined by `build`. */
function searchSchema<T extends Table, Out>(table: T, build: (values: Values<T>, ctx: z.RefinementCtx) => Out) {
  return z.unknown().transform((query, ctx): Out & Paging => {
    const values = rawValues(query, { ...COMMON_PARAMS, ...table }, ctx) as Values<T & typeof COMMON_PARAMS> | undefined;
    // Combining rules (one practitioner, a span) only judge values that parsed.
    if (!values || ctx.issues.length > 0) return z.NEVER;
    const built = build(values, ctx);
    if (ctx.issues.length > 0) return z.NEVER;
    const count = (values._count?.[0] as number | undefined) ?? 20;
    const cursor = values._cursor?.[0] as string | undefined;
    const summary = values._summary?.[0] as 'count' | undefined;
    return { ...built, count, ...(cursor === undefined ? {} : { cursor }), ...(summary === undefined ? {} : { summary }) };
  });
}

const one = <V>(values: V[] | undefined): V | undefined => values?.[0];
const isoBounds = (bounds: Bounds[] | undefined) => {
  if (!bounds) return undefined;
  const { from, to } = intersect(bounds);
  return { ...(from ? { from: from.toISOString() } : {}), ...(to ? { to: to.toISOString() } : {}) };
};
const dateBoundsOf = (bounds: Bounds[] | undefined) => {
  const iso = isoBounds(bounds);
  return iso && { ...(iso.from ? { from: iso.from.slice(0, 10) } : {}), ...(iso.to ? { to: iso.to.slice(0, 10) } : {}) };
};

/** `patient` and `subject` name the same thing (our subjects are patients): both may be given only for one patient. */
function onePatient(patient: string[] | undefined, subject: string[] | undefined, ctx: z.RefinementCtx): string | undefined {
  const named = new Set([...(patient ?? []), ...(subject ?? [])]);
  if (named.size > 1)
    ctx.addIssue({ code: 'custom', path: ['subject'], message: 'patient and subject name different patients', input: subject });
  return [...named][0];
}

/**
 * The name criteria of a search (name, family, given with their modifiers). A plain `name` is set
 * apart as `name`: the services match it like their JSON search text (also the e-mail address).
 */
function namesOf(v: {
  name?: { match: NameMatch; value: string }[];
  family?: { match: NameMatch; value: string }[];
  given?: { match: NameMatch; value: string }[];
}) {
  const plain = v.name?.find((criterion) => criterion.match === 'start');
  const criteria: NameCriterion[] = [
    ...(v.name ?? []).filter((criterion) => criterion !== plain).map((criterion) => ({ part: 'name' as const, ...criterion })),
    ...(v.family ?? []).map((criterion) => ({ part: 'family' as const, ...criterion })),
    ...(v.given ?? []).map((criterion) => ({ part: 'given' as const, ...criterion })),
  ];
  return { name: plain?.value, names: criteria.length > 0 ? criteria : undefined };
}

export const searchSchemas = {
  Patient: searchSchema(SEARCH_PARAMS.Patient, (v) => ({
    ...namesOf(v),
    identifier: one(v.identifier),
    /** Birth dates: `from` inclusive, `to` exclusive (YYYY-MM-DD). */
    birthdate: dateBoundsOf(v.birthdate),
  })),
  Practitioner: searchSchema(SEARCH_PARAMS.Practitioner, (v) => namesOf(v)),
  PractitionerRole: searchSchema(SEARCH_PARAMS.PractitionerRole, (v) => ({
    practitionerId: one(v.practitioner),
    specialty: one(v.specialty),
    active: one(v.active),
  })),
  Appointment: searchSchema(SEARCH_PARAMS.Appointment, (v) => ({
    patientId: one(v.patient),
    practitionerId: one(v.practitioner),
    status: one(v.status),
    serviceType: one(v['service-type']),
    /** Start instants: `from` inclusive, `to` exclusive (UTC ISO): the JSON API's from/to. */
    date: isoBounds(v.date),
  })),
  Slot: searchSchema(SEARCH_PARAMS.Slot, (v, ctx) => {
    const actors = [...(v['schedule.actor'] ?? []), ...(v.practitioner ?? [])];
    if (actors.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['schedule.actor'],
        message: 'give the practitioner: schedule.actor=Practitioner/<id> or practitioner=<id>, once',
        input: actors,
      });
    }
    const start = isoBounds(v.start) ?? {};
    if (start.from && start.to && Date.parse(start.to) - Date.parse(start.from) > SLOT_SEARCH.maxDays * 86_400_000) {
      ctx.addIssue({ code: 'custom', path: ['start'], message: `at most ${SLOT_SEARCH.maxDays} days per search`, input: v.start });
    }
    return { practitionerId: actors[0] ?? '', start, serviceType: one(v['service-type']) };
  }),
  Schedule: searchSchema(SEARCH_PARAMS.Schedule, (v, ctx) => {
    // Schedules are the practitioners': listing all of them is the Practitioner search's.
    if (v.actor?.length !== 1) {
      ctx.addIssue({ code: 'custom', path: ['actor'], message: 'give the practitioner: actor=Practitioner/<id>', input: v.actor });
    }
    return { practitionerId: v.actor?.[0] ?? '' };
  }),
  Invoice: searchSchema(SEARCH_PARAMS.Invoice, (v) => ({ patientId: one(v.patient), status: one(v.status) })),
  CommunicationRequest: searchSchema(SEARCH_PARAMS.CommunicationRequest, (v, ctx) => {
    const status = one(v.status);
    return {
      patientId: onePatient(v.patient, v.subject, ctx),
      appointmentId: one(v.about),
      statuses: status && noticeStatusesOfRequest(status),
    };
  }),
  Communication: searchSchema(SEARCH_PARAMS.Communication, (v, ctx) => {
    const status = one(v.status);
    return {
      patientId: onePatient(v.patient, v.subject, ctx),
      appointmentId: one(v.about),
      requestId: one(v['based-on']),
      statuses: status && noticeStatusesOfCommunication(status),
    };
  }),
};

export type SearchOf<T extends SearchableType> = z.output<(typeof searchSchemas)[T]>;

/** Parses `req.query` for a search of `type`; failures are a ZodError at `query.<parameter>` (a 400 OperationOutcome). */
export function parseSearch<T extends SearchableType>(type: T, query: unknown): SearchOf<T> {
  return (z.object({ query: searchSchemas[type] }).parse({ query }) as { query: SearchOf<T> }).query;
}

/** appointment-service's `GET /appointments` query for an Appointment search: it supports every parameter. */
export function appointmentListQuery(search: SearchOf<'Appointment'>) {
  return {
    patientId: search.patientId,
    doctorId: search.practitionerId,
    status: search.status,
    serviceType: search.serviceType,
    from: search.date?.from,
    to: search.date?.to,
    limit: search.count,
    cursor: search.cursor,
  };
}

/**
 * The links of a searchset page: self is the request as made; next is the same
 * search with our cursor for the next page in `_cursor` (stateless: the cursor
 * is the keyset of the last item, as the JSON API's nextCursor).
 */
export function pageLinks(requestUrl: string, nextCursor: string | null): { selfUrl: string; nextUrl?: string } {
  if (nextCursor === null) return { selfUrl: requestUrl };
  const next = new URL(requestUrl);
  next.searchParams.set('_cursor', nextCursor);
  return { selfUrl: requestUrl, nextUrl: next.toString() };
}
