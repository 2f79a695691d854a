/**
 * The CapabilityStatement, the routes that serve FHIR and the gateway's 405s
 * come from one declaration: the access model's endpoint table (which every
 * service serves exactly: access-endpoints.test.ts). This test holds the FHIR
 * routers to what the statement says, in both directions, and the gateway
 * policy's role table to it: what it admits for some role is offered, the
 * rest is a 405 whose Allow it computes.
 */
import {
  capabilityStatement,
  COMPOSED_FHIR_ROUTES,
  fhirRouteMeaning,
  searchSchemas,
  SEARCH_INCLUDES,
  SEARCH_REVINCLUDES,
  SEARCHABLE_TYPES,
} from '@caregrid/fhir';
import { ENDPOINTS, gatewayPolicyIndex, pathPattern, type ApiRouter } from '@caregrid/platform';
import { appointmentFhirRoutes } from '../../services/appointment-service/src/http/fhir-routes.js';
import { invoiceFhirRoutes } from '../../services/billing-service/src/http/fhir-routes.js';
import { doctorFhirRoutes } from '../../services/doctor-service/src/http/fhir-routes.js';
import { notificationFhirRoutes } from '../../services/notification-service/src/http/fhir-routes.js';
import { patientFhirRoutes } from '../../services/patient-service/src/http/fhir-routes.js';
import { FHIR_TYPES } from '../../services/gateway/src/domain/routes.js';

// Routers are only declared here, never called: their dependencies are not needed.
const unused = {} as never;
const routersByApp: Record<string, ApiRouter> = {
  'patient-service': patientFhirRoutes(unused),
  'doctor-service': doctorFhirRoutes(unused),
  'appointment-service': appointmentFhirRoutes(unused),
  'billing-service': invoiceFhirRoutes(unused),
  'notification-service': notificationFhirRoutes(unused),
};
const served = Object.values(routersByApp).flatMap((router) => router.routes);
// And what the gateway composes from those routes (services/gateway/src/http/fhir-compose.ts).
const servedKeys = [...served.map((route) => `${route.method.toUpperCase()} ${route.path}`), ...COMPOSED_FHIR_ROUTES];

// As the gateway builds it (services/gateway/src/http/fhir.ts).
const statement = capabilityStatement({
  baseUrl: 'https://clinic.example/api/fhir',
  date: '2026-12-07',
  routes: [...Object.values(ENDPOINTS).flatMap((table) => Object.keys(table)), ...COMPOSED_FHIR_ROUTES],
}) as unknown as {
  rest: {
    resource: {
      type: string;
      interaction: { code: string }[];
      searchParam?: { name: string }[];
      searchInclude?: string[];
      searchRevInclude?: string[];
      operation?: { name: string; definition: string }[];
      versioning: string;
      conditionalCreate: boolean;
    }[];
  }[];
};
const stated = statement.rest[0]!.resource;

/** `Type interaction` (or `Type $operation`) for each route. */
const meanings = (keys: string[]) =>
  keys.map((key) => {
    const meaning = fhirRouteMeaning(key)!;
    return 'interaction' in meaning ? `${meaning.type} ${meaning.interaction}` : `${meaning.type} $${meaning.operation}`;
  });

describe('the CapabilityStatement states exactly what the FHIR routes serve', () => {
  it('every stated interaction and operation is served, and every served one stated', () => {
    const statedMeanings = stated.flatMap((r) => [
      ...r.interaction.map((i) => `${r.type} ${i.code}`),
      ...(r.operation ?? []).map((o) => `${r.type} $${o.name}`),
    ]);
    expect(statedMeanings.sort()).toEqual(meanings(servedKeys).sort());
  });

  it('a type’s search parameters are those its search route parses, and only a served search states any', () => {
    for (const resource of stated) {
      const search = served.find((route) => route.method === 'get' && route.path === `/fhir/${resource.type}`);
      if (!search) {
        expect([resource.type, resource.searchParam]).toEqual([resource.type, undefined]);
        continue;
      }
      // The route parses with the schema built from the table the statement lists.
      expect([resource.type, search.query]).toEqual([resource.type, searchSchemas[resource.type as keyof typeof searchSchemas]]);
      expect(resource.searchParam?.length).toBeGreaterThan(0);
    }
    expect(SEARCHABLE_TYPES.filter((type) => !stated.some((r) => r.type === type))).toEqual([]);
  });

  it('Patient states its versions (If-Match optional: versioned) and conditional create; the other types neither', () => {
    const options = Object.fromEntries(stated.map((r) => [r.type, [r.versioning, r.conditionalCreate]]));
    expect(options.Patient).toEqual(['versioned', true]);
    expect(options.Appointment).toEqual(['no-version', false]);
    expect(stated.find((r) => r.type === 'Patient')!.interaction.map((i) => i.code)).toEqual([
      'read',
      'update',
      'patch',
      'create',
      'search-type',
    ]);
  });

  it('states the include parameters and $everything the gateway composes, on the searches they belong to', () => {
    const byType = Object.fromEntries(stated.map((r) => [r.type, r]));
    expect(byType.Appointment!.searchInclude).toEqual(['Appointment:patient', 'Appointment:practitioner']);
    expect(byType.Patient!.searchRevInclude).toEqual(['Appointment:patient']);
    expect(byType.Patient!.operation).toEqual([
      { name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' },
    ]);
    for (const resource of stated) {
      const expected = [SEARCH_INCLUDES[resource.type], SEARCH_REVINCLUDES[resource.type]];
      expect([resource.type, resource.searchInclude, resource.searchRevInclude]).toEqual([resource.type, ...expected]);
      if (expected.some(Boolean)) expect([resource.type, resource.searchParam?.length]).toEqual([resource.type, expect.any(Number)]);
    }
  });

  it('states the types the gateway routes, each to the service that serves its routes', () => {
    expect(stated.map((r) => r.type)).toEqual(FHIR_TYPES.map(([type]) => type));
    for (const [type, app] of FHIR_TYPES) {
      expect([type, routersByApp[app]!.routes.some((route) => route.path.startsWith(`/fhir/${type}`))]).toEqual([type, true]);
    }
  });
});

describe('the gateway policy admits exactly what is offered (anything else a 405)', () => {
  const { routes } = gatewayPolicyIndex();
  /** The Allow of a service path, as the policy computes it: the methods some role may call there. */
  const allowOf = (app: string, path: string) =>
    Object.entries(routes[app] ?? {})
      .filter(([, candidates]) => candidates.some((route) => new RegExp(route.path).test(path)))
      .map(([method]) => method)
      .sort()
      .join(', ');

  it('offers on each path the methods of its routes, and nothing on history or operations', () => {
    const id = '0191d4f2-7c1e-7000-8000-000000000001';
    expect(allowOf('patient-service', '/fhir/Patient')).toBe('GET, POST');
    expect(allowOf('patient-service', `/fhir/Patient/${id}`)).toBe('GET, PATCH, PUT');
    expect(allowOf('appointment-service', '/fhir/Appointment')).toBe('GET, POST');
    expect(allowOf('appointment-service', `/fhir/Appointment/${id}`)).toBe('GET, PATCH, PUT');
    expect(allowOf('appointment-service', `/fhir/Slot/${id}.202612080900`)).toBe('GET');
    for (const path of ['/fhir/Patient/$everything', `/fhir/Patient/${id}/_history`, '/fhir/Patient/_history', '/fhir/Patient/_search']) {
      expect([path, allowOf('patient-service', path)]).toEqual([path, '']);
    }
  });

  it('every FHIR route in the role table is one the routers serve', () => {
    const admitted = Object.entries(routes).flatMap(([app, byMethod]) =>
      Object.entries(byMethod).flatMap(([method, candidates]) =>
        candidates.filter((route) => route.path.startsWith('^/fhir/')).map((route) => `${app} ${method} ${route.path}`),
      ),
    );
    const servedByApp = Object.entries(routersByApp).flatMap(([app, router]) =>
      router.routes.map((route) => `${app} ${route.method.toUpperCase()} ${pathPattern(route.path)}`),
    );
    expect(admitted.sort()).toEqual(servedByApp.sort());
  });
});
