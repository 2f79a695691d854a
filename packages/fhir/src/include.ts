import { entryOf, type Bundle, type BundleEntry } from './bundle.js';
import { parseReference, type Resource } from './systems.js';

/**
 * What the gateway composes from the services' own interactions, with the caller's token on each
 * (so included resources are exactly those the caller may read): `_include` and `_revinclude` of
 * a search, and `Patient/{id}/$everything`. This module is the pure part: which parameters are
 * supported, which resources and searches a page calls for, and the Bundle they make together.
 * The gateway (services/gateway/src/http/fhir-compose.ts) does the asking.
 */

/** An include parameter, `Source:param`: a reference search parameter of Source, and where it points. */
type IncludeDefinition = { target: string; references: (resource: Resource) => string[] };

/** The ids a resource's participants of one type reference (Appointment's `patient` and `practitioner`). */
const participants = (type: string) => (resource: Resource) =>
  ((resource.participant ?? []) as { actor?: { reference?: string } }[]).flatMap((participant) => {
    const ref = participant.actor?.reference === undefined ? undefined : parseReference(participant.actor.reference);
    return ref?.type === type ? [ref.id] : [];
  });

const INCLUDE_PARAMS: Record<string, IncludeDefinition> = {
  'Appointment:patient': { target: 'Patient', references: participants('Patient') },
  'Appointment:practitioner': { target: 'Practitioner', references: participants('Practitioner') },
};

/** `_include` values a search of each type takes (the CapabilityStatement's searchInclude). */
export const SEARCH_INCLUDES: Record<string, readonly string[]> = {
  Appointment: ['Appointment:patient', 'Appointment:practitioner'],
};

/** `_revinclude` values a search of each type takes (searchRevInclude): the resources referring to the matches. */
export const SEARCH_REVINCLUDES: Record<string, readonly string[]> = {
  Patient: ['Appointment:patient'],
};

/** FHIR routes the gateway serves by composition (`METHOD /fhir/...`, as the endpoint table's keys), for the CapabilityStatement. */
export const COMPOSED_FHIR_ROUTES = ['GET /fhir/Patient/:id/$everything'] as const;

/** What `Patient/{id}/$everything` gathers beside the Patient: these searches, by the patient. */
export const EVERYTHING_SEARCHES = [
  { type: 'Appointment', param: 'patient' },
  { type: 'Invoice', param: 'patient' },
] as const;

/**
 * How much a composition fetches: the page size it asks for, and at most how many resources one
 * search contributes (a `_revinclude` per match, each search of `$everything`). Beyond that the
 * Bundle says so in an OperationOutcome entry (`search.mode: outcome`) rather than fetch without end.
 */
export const COMPOSE_LIMITS = { pageSize: 100, revincludePerMatch: 100, everythingPerSearch: 1000 } as const;

export type Include = { name: string; target: string; references: (resource: Resource) => string[] };
export type RevInclude = { name: string; source: string; param: string };

export type IncludeRequest = {
  includes: Include[];
  revincludes: RevInclude[];
  /** The include parameters as given (in order), for the Bundle's self and next links. */
  given: [string, string][];
  /** The rest of the query: the search the owning service answers. */
  forwarded: URLSearchParams;
};

/** A refused include parameter: a 400 OperationOutcome naming it. */
export type IncludeRefusal = { parameter: string; message: string };

export const isIncludeParameter = (name: string) => /^_(rev)?include(:|$)/.test(name);

/**
 * The include parameters of a search of `type` (`_include=Appointment:patient`, also with its
 * target type, `Appointment:patient:Patient`), or why one is refused: an unsupported value, a
 * wildcard, or a modifier (`:iterate`).
 */
export function parseIncludes(type: string, query: URLSearchParams): IncludeRequest | IncludeRefusal {
  const request: IncludeRequest = { includes: [], revincludes: [], given: [], forwarded: new URLSearchParams() };
  for (const [name, value] of query) {
    if (!isIncludeParameter(name)) {
      request.forwarded.append(name, value);
      continue;
    }
    const reverse = name.startsWith('_revinclude');
    const base = reverse ? '_revinclude' : '_include';
    const supported = (reverse ? SEARCH_REVINCLUDES : SEARCH_INCLUDES)[type] ?? [];
    if (name !== base) return { parameter: name, message: `modifier ${name.slice(base.length)} is not supported` };
    const [source = '', param = '', target, ...rest] = value.split(':');
    const key = `${source}:${param}`;
    const definition = INCLUDE_PARAMS[key];
    if (!supported.includes(key) || !definition || rest.length > 0 || (target !== undefined && target !== definition.target)) {
      const offered = supported.length > 0 ? `supported on ${type}: ${supported.join(', ')}` : `${type} supports none`;
      return { parameter: name, message: `${value === '' ? 'an empty value' : value} is not supported (${offered})` };
    }
    request.given.push([name, value]);
    if (reverse) {
      if (!request.revincludes.some((r) => r.name === key)) request.revincludes.push({ name: key, source, param });
    } else if (!request.includes.some((i) => i.name === key)) {
      request.includes.push({ name: key, ...definition });
    }
  }
  return request;
}

export type ResourceKey = { type: string; id: string };
const keyOf = (type: string, id: string) => `${type}/${id}`;

/** The resources a page's includes reference, each once, without those already on the page. */
export function includeTargets(matches: readonly Resource[], includes: readonly Include[]): ResourceKey[] {
  const seen = new Set(matches.map((resource) => keyOf(resource.resourceType, resource.id ?? '')));
  const targets: ResourceKey[] = [];
  for (const include of includes) {
    for (const match of matches) {
      for (const id of include.references(match)) {
        if (seen.has(keyOf(include.target, id))) continue;
        seen.add(keyOf(include.target, id));
        targets.push({ type: include.target, id });
      }
    }
  }
  return targets;
}

/** One search a composition runs: `type?param=value`. */
export type SearchSpec = { type: string; params: Record<string, string> };

/** The searches a page's revincludes call for: per match, its referrers (`Appointment?patient=<id>`). */
export function revincludeSearches(matches: readonly Resource[], revincludes: readonly RevInclude[]): SearchSpec[] {
  return revincludes.flatMap((revinclude) =>
    matches
      .filter((match) => match.id !== undefined)
      .map((match) => ({ type: revinclude.source, params: { [revinclude.param]: match.id! } })),
  );
}

/** The searches of `Patient/{id}/$everything`. */
export function everythingSearches(patientId: string): SearchSpec[] {
  return EVERYTHING_SEARCHES.map(({ type, param }) => ({ type, params: { [param]: patientId } }));
}

/** The `_cursor` of a searchset's next link: where its next page starts (undefined on the last page). */
export function nextCursorOf(bundle: Bundle): string | undefined {
  const next = bundle.link.find((link) => link.relation === 'next');
  return next === undefined ? undefined : (new URL(next.url).searchParams.get('_cursor') ?? undefined);
}

/** What one composed search found: its resources (as far as fetched), and how many there are in all. */
export type Gathered = { search: SearchSpec; resources: Resource[]; total: number };

const searchText = (search: SearchSpec) => `${search.type}?${new URLSearchParams(search.params).toString()}`;

/** A warning that a search contributed only part of what it found (`search.mode: outcome`). */
function shortfall(gathered: readonly Gathered[]): BundleEntry | undefined {
  const short = gathered.filter((g) => g.resources.length < g.total);
  if (short.length === 0) return undefined;
  return {
    resource: {
      resourceType: 'OperationOutcome',
      issue: short.map((g) => ({
        severity: 'warning',
        code: 'too-costly',
        diagnostics: `${searchText(g.search)}: ${g.resources.length} of ${g.total} included; search it for the rest`,
      })),
    },
    search: { mode: 'outcome' },
  };
}

/**
 * A page with what its include parameters brought: the page's entries as they are, each included
 * resource once (none that is a match already) with `search.mode: include`, and a warning entry
 * if a revinclude was cut short. The self and next links keep the include parameters, so the
 * next page includes as this one did. `total` stays the matches' count.
 */
export function withIncluded(
  page: Bundle,
  included: readonly Resource[],
  options: { given: readonly [string, string][]; gathered?: readonly Gathered[] },
): Bundle {
  const base = baseUrlOf(page);
  const entries = [...(page.entry ?? [])];
  const seen = new Set(entries.map((entry) => keyOf(entry.resource.resourceType, entry.resource.id ?? '')));
  for (const resource of included) {
    const key = keyOf(resource.resourceType, resource.id ?? '');
    if (seen.has(key)) continue;
    seen.add(key);
    entries.push(entryOf(resource, base, 'include'));
  }
  const warning = shortfall(options.gathered ?? []);
  if (warning) entries.push(warning);
  const link = page.link.map((l) => ({ ...l, url: withParams(l.url, options.given) }));
  const { entry: _entry, ...rest } = page;
  return { ...rest, link, ...(entries.length > 0 ? { entry: entries } : {}) };
}

/**
 * `Patient/{id}/$everything`: the Patient and what the searches gathered (its appointments and
 * invoices the caller may read), each once, all results of the operation (`search.mode: match`),
 * with a warning entry if a search held more than was fetched.
 */
export function everythingBundle(patient: Resource, gathered: readonly Gathered[], options: { selfUrl: string }): Bundle {
  const base = options.selfUrl.replace(/\/Patient\/[^/?]+\/\$everything(\?.*)?$/, '');
  const seen = new Set<string>();
  const entries: BundleEntry[] = [];
  for (const resource of [patient, ...gathered.flatMap((g) => g.resources)]) {
    const key = keyOf(resource.resourceType, resource.id ?? '');
    if (seen.has(key)) continue;
    seen.add(key);
    entries.push(entryOf(resource, base, 'match'));
  }
  const warning = shortfall(gathered);
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: entries.length,
    link: [{ relation: 'self', url: options.selfUrl }],
    entry: warning ? [...entries, warning] : entries,
  };
}

/** The FHIR base of a page: its self link up to the type (`…/api/fhir/Appointment?x` → `…/api/fhir`). */
function baseUrlOf(page: Bundle): string {
  const self = new URL(page.link.find((l) => l.relation === 'self')!.url);
  return `${self.origin}${self.pathname.replace(/\/[^/]*$/, '')}`;
}

function withParams(url: string, params: readonly [string, string][]): string {
  const parsed = new URL(url);
  for (const [name, value] of params) parsed.searchParams.append(name, value);
  return parsed.toString();
}
