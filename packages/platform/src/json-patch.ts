import { ConflictError, InvalidInputError } from './errors.js';

/**
 * RFC 6902 JSON Patch (add, remove, replace, move, copy, test over RFC 6901
 * pointers), applied to a copy: the target is never changed, and a patch that
 * fails anywhere changes nothing. A malformed patch document is a 400
 * (issues at `patch.<index>.<member>`); one that does not fit the target (a
 * missing member or index, a failed test) is a conflicting state, a 409 (RFC
 * 5789 §2.2). The result is the caller's to validate.
 */
export type JsonPatchOperation =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string };

const OPS = ['add', 'remove', 'replace', 'move', 'copy', 'test'] as const;

export function applyJsonPatch(target: unknown, patch: unknown): unknown {
  const operations = parseJsonPatch(patch);
  let document = structuredClone(target);
  operations.forEach((operation, index) => {
    document = applyOperation(document, operation, index);
  });
  return document;
}

/** The operations of a patch document, or a 400 naming each malformed one. */
export function parseJsonPatch(patch: unknown): JsonPatchOperation[] {
  if (!Array.isArray(patch))
    throw new InvalidInputError('a JSON Patch is an array of operations', [{ path: 'patch', message: 'expected an array' }]);
  const issues: { path: string; message: string }[] = [];
  const operations = patch.map((operation: unknown, index): JsonPatchOperation => {
    const at = (member: string, message: string) => issues.push({ path: `patch.${index}${member ? `.${member}` : ''}`, message });
    if (typeof operation !== 'object' || operation === null || Array.isArray(operation)) {
      at('', 'expected an operation object');
      return { op: 'remove', path: '' };
    }
    const { op, path, from } = operation as Record<string, unknown>;
    if (!OPS.includes(op as (typeof OPS)[number])) at('op', `expected one of ${OPS.join(', ')}`);
    if (typeof path !== 'string' || !isPointer(path)) at('path', 'expected a JSON Pointer ("" or "/member/…")');
    if ((op === 'move' || op === 'copy') && (typeof from !== 'string' || !isPointer(from)))
      at('from', 'expected a JSON Pointer ("" or "/member/…")');
    if ((op === 'add' || op === 'replace' || op === 'test') && !Object.hasOwn(operation, 'value')) at('value', 'required');
    return operation as JsonPatchOperation;
  });
  if (issues.length > 0) throw new InvalidInputError('the JSON Patch is malformed', issues);
  return operations;
}

const isPointer = (pointer: string) => pointer === '' || (pointer.startsWith('/') && !/~[^01]|~$/.test(pointer));

/** RFC 6901: "/a~1b/0" → ["a/b", "0"]. */
const tokensOf = (pointer: string) =>
  pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));

type Container = Record<string, unknown> | unknown[];
const isContainer = (value: unknown): value is Container => typeof value === 'object' && value !== null;

function applyOperation(document: unknown, operation: JsonPatchOperation, index: number): unknown {
  const fail = (message: string): never => {
    throw new ConflictError(`JSON Patch operation ${index} (${operation.op} ${operation.path}) does not apply: ${message}`, {
      operation: index,
    });
  };
  switch (operation.op) {
    case 'add':
      return add(document, operation.path, structuredClone(operation.value), fail);
    case 'remove':
      return remove(document, operation.path, fail).document;
    case 'replace':
      return add(remove(document, operation.path, fail).document, operation.path, structuredClone(operation.value), fail);
    case 'move': {
      if (operation.path.startsWith(`${operation.from}/`)) fail('a member cannot move into itself');
      const taken = remove(document, operation.from, fail);
      return add(taken.document, operation.path, taken.value, fail);
    }
    case 'copy':
      return add(document, operation.path, structuredClone(valueAt(document, operation.from, fail)), fail);
    case 'test':
      if (!deepEqual(valueAt(document, operation.path, fail), operation.value)) fail('the value differs');
      return document;
  }
}

/** The parent container of a pointer's target and the target's last token; the root has none. */
function parentOf(document: unknown, pointer: string, fail: (message: string) => never): { parent: Container; token: string } {
  const tokens = tokensOf(pointer);
  const token = tokens.pop()!;
  let parent: unknown = document;
  for (const step of tokens) parent = child(parent, step, fail);
  if (!isContainer(parent)) fail(`${pointer} has no parent object or array`);
  return { parent: parent as Container, token };
}

function arrayIndex(array: unknown[], token: string, fail: (message: string) => never, allowEnd: boolean): number {
  if (token === '-' && allowEnd) return array.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) fail(`"${token}" is no array index`);
  const position = Number(token);
  if (position > array.length || (position === array.length && !allowEnd)) fail(`index ${position} is out of range`);
  return position;
}

function child(value: unknown, token: string, fail: (message: string) => never): unknown {
  if (Array.isArray(value)) return value[arrayIndex(value, token, fail, false)];
  if (isContainer(value) && Object.hasOwn(value, token)) return (value as Record<string, unknown>)[token];
  return fail(`no member "${token}"`);
}

function valueAt(document: unknown, pointer: string, fail: (message: string) => never): unknown {
  return tokensOf(pointer).reduce((value, token) => child(value, token, fail), document);
}

function add(document: unknown, pointer: string, value: unknown, fail: (message: string) => never): unknown {
  if (pointer === '') return value;
  const { parent, token } = parentOf(document, pointer, fail);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, token, fail, true), 0, value);
  else parent[token] = value;
  return document;
}

function remove(document: unknown, pointer: string, fail: (message: string) => never): { document: unknown; value: unknown } {
  if (pointer === '') return { document: undefined, value: document };
  const { parent, token } = parentOf(document, pointer, fail);
  if (Array.isArray(parent)) {
    const [value] = parent.splice(arrayIndex(parent, token, fail, false), 1);
    return { document, value };
  }
  if (!Object.hasOwn(parent, token)) fail(`no member "${token}"`);
  const value = parent[token];
  delete parent[token];
  return { document, value };
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (!isContainer(a) || !isContainer(b)) return false;
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length &&
    keys.every((key) => Object.hasOwn(b, key) && deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
  );
}
