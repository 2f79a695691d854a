import { z } from 'zod';

/**
 * A person's name as patients and doctors carry it: `family` and `given` (FHIR HumanName's parts),
 * and `name`, the display name derived from them (`given… family`).
 */
export type PersonName = { family: string; given: string[] };

/** The longest display name a record takes (doctor-service stores it in a VARCHAR(200)). */
export const DISPLAY_NAME_MAX = 200;

/**
 * The split rule for a name given as one string (records from before family/given, clients that send
 * `name` alone): the last whitespace-separated word is the family name, the words before it the given
 * names. Conservative: "Ann van der Berg" becomes given Ann, van, der and family Berg, never a guess at
 * particles. The migrations of patient-service and doctor-service apply the same rule in SQL.
 */
export function splitName(name: string): PersonName {
  const words = name.trim().split(/\s+/);
  const family = words.pop() ?? '';
  return { family, given: words };
}

/** The display name: given names, then the family name, one space apart. */
export const displayName = ({ family, given }: PersonName): string => [...given, family].join(' ');

const namePart = (max: number) => z.string().trim().min(1).max(max);

/**
 * The name members of a record a client writes: `family` with optional `given`, or `name` alone (split
 * by splitName). With `family`, a `name` is accepted only when it is the display name they make (a
 * record read and written back), as it is derived, never stored apart.
 */
export const personNameInput = {
  name: namePart(DISPLAY_NAME_MAX).optional().describe('The whole name, when family and given are not sent: split by its last word'),
  family: namePart(DISPLAY_NAME_MAX).optional().describe('Family name (surname)'),
  given: z.array(namePart(100)).max(10).optional().describe('Given names, in order'),
};

type NameMembers = { name?: string | undefined; family?: string | undefined; given?: string[] | undefined };

/** The family and given names a parsed input stands for, or the issue that makes it unusable (for a superRefine). */
export function personNameOf(input: NameMembers): PersonName | { path: string; message: string } {
  if (input.family === undefined) {
    if (input.given !== undefined) return { path: 'family', message: 'required with given' };
    if (input.name === undefined) return { path: 'name', message: 'required (or family, with given)' };
    return splitName(input.name);
  }
  const parts = { family: input.family, given: input.given ?? [] };
  const display = displayName(parts);
  if (display.length > DISPLAY_NAME_MAX)
    return { path: 'family', message: `given and family together must be at most ${DISPLAY_NAME_MAX} characters` };
  if (input.name !== undefined && input.name.replace(/\s+/g, ' ') !== display)
    return { path: 'name', message: `is derived from given and family ("${display}"); send either` };
  return parts;
}

const NAME_MEMBERS: PropertyKey[] = Object.keys(personNameInput);

/**
 * An input object schema (with personNameInput's members) that also checks they make a usable name,
 * else an issue at the member. The check runs beside other fields' issues (a 400 lists them all), but
 * not over name members that are themselves invalid.
 */
export function withPersonName<T extends z.ZodType<NameMembers>>(schema: T): T {
  return schema.superRefine(
    (input, ctx) => {
      const name = personNameOf(input);
      if ('path' in name) ctx.addIssue({ code: 'custom', path: [name.path], message: name.message, input });
    },
    {
      // Not over name members that are invalid, nor over an input that is no object at all (no body).
      when: (payload) =>
        typeof payload.value === 'object' &&
        payload.value !== null &&
        !Array.isArray(payload.value) &&
        !payload.issues.some((issue) => NAME_MEMBERS.includes(issue.path?.[0] ?? '')),
    },
  ) as T;
}

/** How a FHIR string search matches a name part: its start (the default), the whole part exactly, or anywhere. */
export const NAME_MATCHES = ['start', 'exact', 'contains'] as const;
export type NameMatch = (typeof NAME_MATCHES)[number];

/**
 * One name criterion of a search: which parts (`name`: any; `family`; `given`) and how. Starts-with and
 * contains ignore case and accents; exact is the whole family name or one whole given name as written.
 */
export type NameCriterion = { part: 'name' | 'family' | 'given'; match: NameMatch; value: string };

/**
 * The current record's members a merge patch applies to: without family and given when the patch
 * renames by `name` alone (then split as for a new record), as they are.
 */
export function namePatchBase<T extends PersonName>(current: T, patch: unknown): T | Omit<T, 'family' | 'given'> {
  const members = typeof patch === 'object' && patch !== null && !Array.isArray(patch) ? patch : {};
  if (!Object.hasOwn(members, 'name') || Object.hasOwn(members, 'family') || Object.hasOwn(members, 'given')) return current;
  const { family: _family, given: _given, ...rest } = current;
  return rest;
}
