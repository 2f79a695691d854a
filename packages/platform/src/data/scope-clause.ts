import { ACCESS_MATRIX, type Matrix, type Resource } from '../access/model.js';
import { scopeIds, scopeLinks, SCOPE_LINKS, type Scope, type ScopeLink } from '../access/check.js';

/**
 * How a table's rows carry the links a scope names records by (PostgreSQL): for `patientId`,
 * `doctorId` and `userId` the uuid column holding it; for `careTeamOf`, a condition on the row
 * given the placeholder of the doctors' ids (a `uuid[]`), e.g. a subquery of the care relation.
 */
export type ScopeColumns = Partial<Record<Exclude<ScopeLink, 'careTeamOf'>, string>> & {
  careTeamOf?: (doctorIds: string) => string;
};

/** A record kind's scope declaration: its resource in the access model, and its columns. */
export type RecordScope = { resource: Resource; columns: ScopeColumns };

const missingLinks = (record: RecordScope, links: readonly ScopeLink[]) => links.filter((link) => !record.columns[link]);

/**
 * Declares how the rows of `resource` are scoped. Throws (at start: declare it at module level)
 * when the access model can scope this resource by a link the rows do not carry — e.g. a `care`
 * grant on records without a care-team column, whose lists would otherwise come back empty.
 */
export function recordScope(resource: Resource, columns: ScopeColumns, matrix: Matrix = ACCESS_MATRIX): RecordScope {
  const record = { resource, columns };
  const missing = missingLinks(record, scopeLinks(resource, matrix));
  if (missing.length > 0) {
    throw new Error(`the access model scopes ${resource} records by ${missing.join(', ')}, which their table has no column for`);
  }
  return record;
}

/**
 * A scope as a PostgreSQL condition on the record's rows, its parameters numbered from `first`
 * (`$first`, `$first+1`…): everything, nothing, or the rows matching any of the scope's links.
 * A link the record kind has no column for throws rather than matching nothing (a scope made
 * under another matrix than its declaration's).
 */
export function scopeClause(scope: Scope, record: RecordScope, first: number): { sql: string; params: unknown[] } {
  if (scope.all) return { sql: 'TRUE', params: [] };
  const links = SCOPE_LINKS.filter((link) => scopeIds(scope, link).length > 0);
  const missing = missingLinks(record, links);
  if (missing.length > 0) throw new Error(`${record.resource} records cannot be scoped by ${missing.join(', ')}: no column for it`);
  if (links.length === 0) return { sql: 'FALSE', params: [] };
  const params: unknown[] = [];
  const conditions = links.map((link) => {
    params.push(scopeIds(scope, link));
    const placeholder = `$${first + params.length - 1}::uuid[]`;
    return link === 'careTeamOf' ? record.columns.careTeamOf!(placeholder) : `${record.columns[link]} = ANY(${placeholder})`;
  });
  return { sql: `(${conditions.join(' OR ')})`, params };
}
