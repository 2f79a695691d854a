import { InvalidInputError } from './errors.js';

/**
 * The version a conditional write names: `If-Match: "3"` or `W/"3"` → 3; none, or `*` (any
 * version), → undefined. Anything else is no ETag this API gave: 400.
 */
export function versionFromIfMatch(header: string | undefined): number | undefined {
  if (!header || header.trim() === '*') return undefined;
  const match = /^(?:W\/)?"(\d+)"$/.exec(header.trim());
  if (!match)
    throw new InvalidInputError('If-Match must be an ETag from this API', [{ path: 'headers.if-match', message: 'expected "<version>"' }]);
  return Number(match[1]);
}
