import { z } from 'zod';
import { personNameInput, withPersonName } from '../src/names.js';

const input = withPersonName(z.strictObject({ ...personNameInput, email: z.email().optional() }));

describe('withPersonName', () => {
  it.each([
    ['no body at all', undefined],
    ['null', null],
    ['a list', []],
    ['a string', 'Ann Berg'],
  ])('%s is a validation issue at the root, never an exception of the check', (_, body) => {
    const result = input.safeParse(body);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([[]]);
  });

  it('an object without a name is an issue at name, beside the other fields', () => {
    const result = input.safeParse({ email: 'not-an-email' });
    expect(result.error?.issues.map((issue) => issue.path[0]).sort()).toEqual(['email', 'name']);
  });

  it('a name alone, or family and given, make a usable name', () => {
    expect(input.safeParse({ name: 'Ann Berg' }).success).toBe(true);
    expect(input.safeParse({ family: 'Berg', given: ['Ann'] }).success).toBe(true);
  });
});
