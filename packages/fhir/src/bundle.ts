import type { Resource } from './systems.js';

/**
 * A searchset's entry: a match, a resource an include parameter brought (include.ts), or an
 * OperationOutcome about the search (`outcome`, no address of its own).
 */
export type BundleEntry = { fullUrl?: string; resource: Resource; search: { mode: 'match' | 'include' | 'outcome' } };

export type Bundle = {
  resourceType: 'Bundle';
  type: 'searchset';
  total: number;
  link: { relation: 'self' | 'next'; url: string }[];
  entry?: BundleEntry[];
};

/** A resource as a searchset entry: its address at the FHIR base (`<base>/<type>/<id>`) and why it is there. */
export function entryOf(resource: Resource, base: string, mode: 'match' | 'include'): BundleEntry {
  if (!resource.id) throw new Error(`a ${resource.resourceType} in a searchset needs an id`);
  return { fullUrl: `${base.replace(/\/+$/, '')}/${resource.resourceType}/${resource.id}`, resource, search: { mode } };
}

/**
 * A searchset Bundle: `total` is all matches (not this page's), links self and
 * (when there is a next page) next; each entry's fullUrl is the resource's
 * address at the FHIR base, which is the self link's path up to the type
 * (`…/api/fhir/Patient?name=x` → `…/api/fhir`) unless given.
 */
export function searchset(resources: Resource[], options: { total: number; selfUrl: string; nextUrl?: string; baseUrl?: string }): Bundle {
  const base = (options.baseUrl ?? baseOf(options.selfUrl)).replace(/\/+$/, '');
  const link: Bundle['link'] = [{ relation: 'self', url: options.selfUrl }];
  if (options.nextUrl !== undefined) link.push({ relation: 'next', url: options.nextUrl });
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', total: options.total, link };
  if (resources.length > 0) {
    bundle.entry = resources.map((resource) => entryOf(resource, base, 'match'));
  }
  return bundle;
}

function baseOf(selfUrl: string): string {
  const url = new URL(selfUrl);
  return `${url.origin}${url.pathname.replace(/\/[^/]*$/, '')}`;
}
