import { SEARCH_INCLUDES, SEARCH_REVINCLUDES } from './include.js';
import { narrative } from './narrative.js';
import { COMMON_PARAMS, SEARCH_PARAMS, type SearchableType, type SearchParam } from './search-params.js';
import { FHIR_JSON, FHIR_VERSION, type Resource } from './systems.js';

/** FHIR R4 TypeRestfulInteraction, in the specification's order (the CapabilityStatement lists them so). */
export const INTERACTION_CODES = [
  'read',
  'vread',
  'update',
  'patch',
  'delete',
  'history-instance',
  'history-type',
  'create',
  'search-type',
] as const;
export type Interaction = (typeof INTERACTION_CODES)[number];

/** What one route serves: an interaction on a resource type, or an operation (`$name`). */
export type FhirRouteMeaning = { type: string } & ({ interaction: Interaction } | { operation: string });

/** `METHOD shape` → interaction; `T` the type, `:` a parameter (the id, the version). */
const SHAPES: Record<string, Interaction> = {
  'GET T': 'search-type',
  'POST T': 'create',
  'GET T/:': 'read',
  'PUT T/:': 'update',
  'PATCH T/:': 'patch',
  'DELETE T/:': 'delete',
  'GET T/_history': 'history-type',
  'GET T/:/_history': 'history-instance',
  'GET T/:/_history/:': 'vread',
};

/**
 * What a service route (`METHOD /express/path`, as the access model's endpoint
 * table and the routers declare it) serves in FHIR terms; undefined for a route
 * outside `/fhir/`. A FHIR route of any other shape is a programming error: the
 * CapabilityStatement could not state it.
 */
export function fhirRouteMeaning(routeKey: string): FhirRouteMeaning | undefined {
  const [method = '', path = ''] = routeKey.split(' ');
  if (!path.startsWith('/fhir/')) return undefined;
  const [type = '', ...rest] = path.slice('/fhir/'.length).split('/');
  const shape = ['T', ...rest.map((segment) => (segment.startsWith(':') ? ':' : segment.startsWith('$') ? '$' : segment))].join('/');
  if (/^[A-Z][A-Za-z]+$/.test(type)) {
    const interaction = SHAPES[`${method} ${shape}`];
    if (interaction) return { type, interaction };
    // An operation on the type or on an instance (`$everything`), invoked by GET or POST.
    if ((shape === 'T/$' || shape === 'T/:/$') && (method === 'GET' || method === 'POST'))
      return { type, operation: rest.at(-1)!.slice(1) };
  }
  throw new Error(`${routeKey} is no FHIR interaction the CapabilityStatement can state`);
}

export type FhirOffer = { type: string; interactions: Interaction[]; operations: string[] };

/**
 * What the FHIR API offers, type by type (in the order of the routes), from the
 * routes that serve it: the CapabilityStatement states it, and whatever is not
 * in it is a 405 at the gateway (whose role table holds the same routes).
 */
export function fhirOffer(routeKeys: Iterable<string>): FhirOffer[] {
  const offers = new Map<string, { interactions: Set<Interaction>; operations: Set<string> }>();
  for (const key of routeKeys) {
    const meaning = fhirRouteMeaning(key);
    if (!meaning) continue;
    const offer = offers.get(meaning.type) ?? { interactions: new Set(), operations: new Set() };
    if ('interaction' in meaning) offer.interactions.add(meaning.interaction);
    else offer.operations.add(meaning.operation);
    offers.set(meaning.type, offer);
  }
  return [...offers].map(([type, { interactions, operations }]) => ({
    type,
    interactions: INTERACTION_CODES.filter((code) => interactions.has(code)),
    operations: [...operations],
  }));
}

export const PATCH_FORMATS = ['application/json-patch+json'];

/**
 * What a type's writes honour besides their interactions: versions (meta.versionId, ETag, If-Match
 * on update and patch: `versioned`, as If-Match is optional) and conditional create (If-None-Exist).
 * Types not listed: neither.
 */
export const WRITE_OPTIONS: Record<string, { versioning: 'versioned'; conditionalCreate: boolean }> = {
  Patient: { versioning: 'versioned', conditionalCreate: true },
};

function searchParamsOf(type: string): Record<string, SearchParam<unknown>> {
  if (!(type in SEARCH_PARAMS)) throw new Error(`${type} is searched, but SEARCH_PARAMS has no table for it`);
  return SEARCH_PARAMS[type as SearchableType];
}

const searchParams = (table: Record<string, SearchParam<unknown>>) =>
  Object.entries(table).map(([name, param]) => ({
    name,
    ...(param.definition ? { definition: param.definition } : {}),
    type: param.type,
    documentation: param.documentation,
  }));

/**
 * The CapabilityStatement of `/api/fhir/metadata`: the interactions and
 * operations of the routes that serve them (`routes`: the access model's
 * endpoint keys, which every service serves exactly), the search parameters
 * from the tables the search parsers use (SEARCH_PARAMS, COMMON_PARAMS), so it
 * states exactly what is supported.
 */
export function capabilityStatement(options: {
  baseUrl: string;
  date: string;
  version?: string;
  /** Every route served, `METHOD /express/path` (the services', the gateway's COMPOSED_FHIR_ROUTES): those under `/fhir/` are what the FHIR API offers. */
  routes: Iterable<string>;
}): Resource & { resourceType: 'CapabilityStatement' } {
  const offer = fhirOffer(options.routes);
  return {
    resourceType: 'CapabilityStatement',
    text: narrative(`CareGrid FHIR R4 API, as of ${options.date}: ${offer.map(({ type }) => type).join(', ')}.`),
    status: 'active',
    date: options.date,
    publisher: 'CareGrid',
    kind: 'instance',
    software: { name: 'CareGrid', ...(options.version ? { version: options.version } : {}) },
    implementation: { description: 'CareGrid FHIR R4 API', url: options.baseUrl },
    fhirVersion: FHIR_VERSION,
    format: ['json', FHIR_JSON],
    patchFormat: PATCH_FORMATS,
    rest: [
      {
        mode: 'server',
        documentation:
          'Each resource is served by the service that owns it, through the gateway, with the same access model as the JSON API (a patient sees only their own records). _include, _revinclude and Patient $everything are composed by the gateway from those interactions with your token: what you may not read is left out. An interaction not listed here answers 405 (an OperationOutcome; Allow names the methods offered).',
        security: { description: 'Bearer access token (JWT) from auth-service, as for the JSON API.' },
        resource: offer.map(({ type, interactions, operations }) => ({
          type,
          profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
          interaction: interactions.map((code) => ({ code })),
          versioning: WRITE_OPTIONS[type]?.versioning ?? 'no-version',
          readHistory: false,
          updateCreate: false,
          conditionalCreate: WRITE_OPTIONS[type]?.conditionalCreate ?? false,
          conditionalUpdate: false,
          conditionalDelete: 'not-supported',
          ...(interactions.includes('search-type')
            ? {
                ...(SEARCH_INCLUDES[type] ? { searchInclude: [...SEARCH_INCLUDES[type]] } : {}),
                ...(SEARCH_REVINCLUDES[type] ? { searchRevInclude: [...SEARCH_REVINCLUDES[type]] } : {}),
                searchParam: searchParams(searchParamsOf(type)),
              }
            : {}),
          ...(operations.length > 0
            ? { operation: operations.map((name) => ({ name, definition: `http://hl7.org/fhir/OperationDefinition/${type}-${name}` })) }
            : {}),
        })),
        searchParam: searchParams(COMMON_PARAMS),
      },
    ],
  };
}
