import type { RequestHandler } from 'express';
import { InvalidInputError, type FieldIssue } from '../errors.js';

const NUL = '\u0000';

/**
 * Where a parsed body or query holds U+0000, in values or keys: PostgreSQL stores it in neither
 * text nor jsonb, and no field of this API has a use for it. Walked without recursion, so a
 * deeply nested body cannot overflow the stack.
 */
export function nulPaths(value: unknown, root: string): string[] {
  const found: string[] = [];
  const pending: [unknown, string][] = [[value, root]];
  while (pending.length > 0) {
    const [current, path] = pending.pop()!;
    if (typeof current === 'string') {
      if (current.includes(NUL)) found.push(path);
    } else if (current !== null && typeof current === 'object') {
      for (const [key, child] of Object.entries(current)) {
        const childPath = `${path}.${key}`;
        if (key.includes(NUL)) found.push(childPath);
        else pending.push([child, childPath]);
      }
    }
  }
  return found.sort();
}

/** 400 naming every field with a NUL character, before any handler sees the request. */
export const refuseNul: RequestHandler = (req, _res, next) => {
  const paths = [...nulPaths(req.query, 'query'), ...nulPaths(req.body, 'body')];
  if (paths.length > 0) {
    const issues: FieldIssue[] = paths.map((path) => ({ path, message: 'must not contain the NUL character (U+0000)' }));
    throw new InvalidInputError('text must not contain the NUL character (U+0000)', issues);
  }
  next();
};
