import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { readInfraEnv } from './paths.js';

/**
 * Validation of Dapr resources (Component, Configuration, Subscription,
 * Resiliency…) against the CRD schemas shipped in the dapr module daprd is
 * built from — what the Kubernetes API server would apply, except that unknown
 * fields are errors here (the API server would silently prune them).
 */
type Json = Record<string, unknown>;

export type DaprSchemas = {
  /** `<group>/<version>/<kind>`, e.g. `dapr.io/v1alpha1/Component`. */
  kinds: string[];
  /** Problems found, empty when valid; an apiVersion/kind without a CRD is a problem too. */
  validate(resource: Json): string[];
};

/** The CRDs of the dapr module in the Go module cache (`infra/infra.sh build` downloads it). */
export function daprCrdDir(version = readInfraEnv().DAPR_VERSION): string {
  const modCache = execFileSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim();
  return path.join(modCache, `github.com/dapr/dapr@v${version}`, 'charts/dapr/crds');
}

/** Structural-schema semantics: objects with listed properties accept nothing else. */
function closeObjects(schema: Json): Json {
  const copy: Json = { ...schema };
  if (copy.properties && copy.additionalProperties === undefined && !copy['x-kubernetes-preserve-unknown-fields']) {
    copy.additionalProperties = false;
  }
  for (const [key, value] of Object.entries(copy)) {
    if (key === 'properties' && value && typeof value === 'object') {
      copy.properties = Object.fromEntries(Object.entries(value as Json).map(([name, child]) => [name, closeObjects(child as Json)]));
    } else if ((key === 'items' || key === 'additionalProperties') && value && typeof value === 'object') {
      copy[key] = closeObjects(value as Json);
    }
  }
  return copy;
}

export function loadDaprSchemas(crdDir = daprCrdDir()): DaprSchemas {
  const validators = new Map<string, ValidateFunction>();
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, logger: false });
  for (const file of readdirSync(crdDir).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(path.join(crdDir, file), 'utf8'))) {
      const crd = doc.toJS() as {
        spec?: { group: string; names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: Json } }[] };
      };
      if (!crd?.spec?.versions) continue;
      for (const version of crd.spec.versions) {
        validators.set(
          `${crd.spec.group}/${version.name}/${crd.spec.names.kind}`,
          ajv.compile(closeObjects(version.schema.openAPIV3Schema)),
        );
      }
    }
  }
  return {
    kinds: [...validators.keys()],
    validate(resource) {
      const validator = validators.get(`${resource.apiVersion}/${resource.kind}`);
      if (!validator) return [`no CRD schema for ${resource.apiVersion} ${resource.kind}`];
      return validator(resource) ? [] : (validator.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
    },
  };
}
