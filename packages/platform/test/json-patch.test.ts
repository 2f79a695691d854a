import { ConflictError, InvalidInputError } from '../src/errors.js';
import { applyJsonPatch } from '../src/json-patch.js';

describe('applyJsonPatch (RFC 6902)', () => {
  const doc = () => ({ a: { b: 'c' }, list: [1, 2, 3], 'x/y': 1, 'm~n': 2 });

  it('add, remove, replace, move, copy and test, in order, on a copy', () => {
    const target = doc();
    const result = applyJsonPatch(target, [
      { op: 'test', path: '/a/b', value: 'c' },
      { op: 'add', path: '/a/d', value: ['e'] },
      { op: 'add', path: '/list/1', value: 9 },
      { op: 'add', path: '/list/-', value: 4 },
      { op: 'remove', path: '/list/0' },
      { op: 'replace', path: '/a/b', value: 'C' },
      { op: 'move', from: '/x~1y', path: '/moved' },
      { op: 'copy', from: '/m~0n', path: '/copied' },
      { op: 'test', path: '/list', value: [9, 2, 3, 4] },
    ]);
    expect(result).toEqual({ a: { b: 'C', d: ['e'] }, list: [9, 2, 3, 4], moved: 1, 'm~n': 2, copied: 2 });
    expect(target).toEqual(doc());
  });

  it('the whole document by the empty pointer', () => {
    expect(applyJsonPatch(doc(), [{ op: 'replace', path: '', value: { z: 1 } }])).toEqual({ z: 1 });
  });

  it.each([
    ['a missing member to replace', [{ op: 'replace', path: '/nope', value: 1 }]],
    ['a missing member to remove', [{ op: 'remove', path: '/a/nope' }]],
    ['a missing parent', [{ op: 'add', path: '/nope/x', value: 1 }]],
    ['an index past the end', [{ op: 'add', path: '/list/4', value: 1 }]],
    ['a non-numeric index', [{ op: 'replace', path: '/list/x', value: 1 }]],
    ['a leading zero', [{ op: 'remove', path: '/list/01' }]],
    ['a failed test', [{ op: 'test', path: '/a', value: { b: 'd' } }]],
    ['a move into itself', [{ op: 'move', from: '/a', path: '/a/b' }]],
  ])('does not apply (409, nothing changed): %s', (_, patch) => {
    const target = doc();
    expect(() => applyJsonPatch(target, patch)).toThrow(ConflictError);
    expect(target).toEqual(doc());
  });

  it('a failure after applied operations leaves nothing applied', () => {
    const target = doc();
    expect(() =>
      applyJsonPatch(target, [
        { op: 'add', path: '/a/new', value: 1 },
        { op: 'test', path: '/a/new', value: 2 },
      ]),
    ).toThrow(ConflictError);
    expect(target).toEqual(doc());
  });

  it('a malformed document is a 400 naming each bad operation', () => {
    expect(() => applyJsonPatch(doc(), { op: 'add' })).toThrow(InvalidInputError);
    try {
      applyJsonPatch(doc(), [{ op: 'frob', path: '/a' }, { op: 'add', path: 'a' }, { op: 'copy', path: '/b' }, 'x']);
      throw new Error('no error');
    } catch (error) {
      expect((error as InvalidInputError).issues.map((issue) => issue.path)).toEqual([
        'patch.0.op',
        'patch.1.path',
        'patch.1.value',
        'patch.2.from',
        'patch.3',
      ]);
    }
  });
});
