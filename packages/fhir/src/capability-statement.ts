import { COMMON_PARAMS, SEARCH_PARAMS, type SearchableType, type SearchParam } from './search-params.js';
import { FHIR_JSON, FHIR_VERSION, type Resource } from './systems.js';

type Interaction = 'read' | 'search-type' | 'create' | 'update' | 'patch';

/**
 * What the FHIR routes serve per resource type (the routes implement exactly
 * these; the CapabilityStatement states them). Appointment takes writes:
 * booking (create) and its lifecycle (update or JSON Patch of the status).
 */
export const INTERACTIONS: Record<SearchableType, Interaction[]> = {
  Patient: ['read', 'search-type'],
  Practitioner: ['read', 'search-type'],
  PractitionerRole: ['read', 'search-type'],
  Appointment: ['read', 'search-type', 'create', 'update', 'patch'],
  Slot: ['read', 'search-type'],
  Invoice: ['read', 'search-type'],
  CommunicationRequest: ['read', 'search-type'],
  Communication: ['read', 'search-type'],
};

export const PATCH_FORMATS = ['application/json-patch+json'];

const searchParams = (table: Record<string, SearchParam<unknown>>) =>
  Object.entries(table).map(([name, param]) => ({
    name,
    ...(param.definition ? { definition: param.definition } : {}),
    type: param.type,
    documentation: param.documentation,
  }));

/**
 * The CapabilityStatement of `/api/fhir/metadata`, from the same tables the
 * search parsers use (SEARCH_PARAMS, COMMON_PARAMS), so it states exactly
 * what is supported.
 */
export function capabilityStatement(options: {
  baseUrl: string;
  date: string;
  version?: string;
}): Resource & { resourceType: 'CapabilityStatement' } {
  return {
    resourceType: 'CapabilityStatement',
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
          'Each resource is served by the service that owns it, through the gateway, with the same access model as the JSON API (a patient sees only their own records).',
        security: { description: 'Bearer access token (JWT) from auth-service, as for the JSON API.' },
        resource: (Object.keys(INTERACTIONS) as SearchableType[]).map((type) => ({
          type,
          profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
          interaction: INTERACTIONS[type].map((code) => ({ code })),
          versioning: 'no-version',
          readHistory: false,
          updateCreate: false,
          conditionalCreate: false,
          conditionalUpdate: false,
          conditionalDelete: 'not-supported',
          searchParam: searchParams(SEARCH_PARAMS[type]),
        })),
        searchParam: searchParams(COMMON_PARAMS),
      },
    ],
  };
}
