import { z } from 'zod';
import { InvalidInputError } from './errors.js';

/** Query parameters every list endpoint accepts. */
export const pageQuerySchema = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(512).optional(),
};

export type Page<T> = { items: T[]; nextCursor: string | null };

/** Opaque keyset cursor: the sort key of the last item of a page. */
export function encodeCursor(key: unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor<T extends unknown[]>(cursor: string, schema: z.ZodType<T>): T {
  try {
    return schema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new InvalidInputError('cursor is not valid', [{ path: 'query.cursor', message: 'not a cursor from this list' }]);
  }
}

/** Fetch `limit + 1` rows; the extra row only says whether another page exists. */
export function toPage<Row, Item>(rows: Row[], limit: number, toItem: (row: Row) => Item, keyOf: (row: Row) => unknown[]): Page<Item> {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return { items: pageRows.map(toItem), nextCursor: hasMore && last ? encodeCursor(keyOf(last)) : null };
}

/** A LIKE pattern's literal text: the wildcards and the escape character escaped. */
export const likeLiteral = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);
/** A LIKE pattern matching values that start with `q`, case-folded, with % _ \ taken literally. */
export const likePrefix = (q: string) => `${likeLiteral(q.toLowerCase())}%`;
