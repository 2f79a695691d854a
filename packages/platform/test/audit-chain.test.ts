import type { AuditEntry } from '@caregrid/contracts';
import { sampleAuditEntry } from '@caregrid/devkit';
import { chainEntries, EMPTY_CHAIN, entryHash, verifyChain } from '../src/audit/chain.js';

const entry = (): AuditEntry => sampleAuditEntry({ actor: { kind: 'user', userId: 'u1', roles: ['doctor'] }, traceId: '0'.repeat(32) });

const chainOf = (n: number) => chainEntries(EMPTY_CHAIN, Array.from({ length: n }, entry));
const verify = (entries: AuditEntry[], more: Partial<Parameters<typeof verifyChain>[0]> = {}) =>
  verifyChain({ service: 'patient-service', entries, checkpoint: EMPTY_CHAIN, ...more });

describe('the audit hash chain', () => {
  it('numbers entries from the head on, each linked to the one before and hashed over all it says', () => {
    const first = chainOf(2);
    const next = chainEntries(first.head, [entry()]);
    expect(first.entries.map((e) => e.seq)).toEqual([1, 2]);
    expect(first.entries[1]!.prevHash).toBe(first.entries[0]!.hash);
    expect(next.entries[0]).toMatchObject({ seq: 3, prevHash: first.head.hash });
    expect(next.entries[0]!.hash).toBe(entryHash(next.entries[0]!));
    // Key order does not matter, content does.
    const [one] = first.entries;
    const reordered = Object.fromEntries(Object.entries(one!).reverse()) as AuditEntry;
    expect(entryHash(reordered)).toBe(one!.hash);
    expect(entryHash({ ...one!, status: 403 })).not.toBe(one!.hash);
  });

  it('an untouched chain verifies, in any order, against its head', () => {
    const { entries, head } = chainOf(5);
    expect(verify([...entries].reverse(), { head })).toEqual([]);
  });

  it('a deleted entry is a gap, an altered one a mismatch, a rewritten one breaks the next link', () => {
    const { entries, head } = chainOf(6);
    expect(
      verify(
        entries.filter((e) => e.seq !== 3),
        { head },
      ),
    ).toEqual([{ kind: 'gap', service: 'patient-service', fromSeq: 3, toSeq: 3 }]);
    const altered = entries.map((e) => (e.seq === 4 ? { ...e, outcome: 'denied' as const } : e));
    expect(verify(altered, { head })).toEqual([{ kind: 'altered', service: 'patient-service', seq: 4, id: entries[3]!.id }]);
    const rewritten = entries.map((e) =>
      e.seq === 4 ? { ...e, outcome: 'denied' as const, hash: entryHash({ ...e, outcome: 'denied' }) } : e,
    );
    expect(verify(rewritten, { head })).toEqual([
      { kind: 'unlinked', service: 'patient-service', seq: 5, id: entries[4]!.id, previousId: entries[3]!.id },
    ]);
  });

  it('newest entries missing, or the newest replaced, is a truncated tail; entries not yet published are not missing', () => {
    const { entries, head } = chainOf(5);
    expect(verify(entries.slice(0, 3), { head })).toEqual([{ kind: 'truncated', service: 'patient-service', storedSeq: 3, headSeq: 5 }]);
    expect(verify(entries.slice(0, 3), { head, pending: new Set([4, 5]) })).toEqual([]);
    const last = entries[4]!;
    const replaced = { ...last, status: 404, hash: entryHash({ ...last, status: 404 }) };
    expect(verify([...entries.slice(0, 4), replaced], { head })).toEqual([
      { kind: 'truncated', service: 'patient-service', storedSeq: 5, headSeq: 5 },
    ]);
  });

  it('after retention the chain verifies from its checkpoint (the last entry removed)', () => {
    const { entries, head } = chainOf(6);
    const checkpoint = { seq: 2, hash: entries[1]!.hash! };
    expect(verify(entries.slice(2), { head, checkpoint })).toEqual([]);
    expect(verify(entries.slice(2), { head })).toEqual([{ kind: 'gap', service: 'patient-service', fromSeq: 1, toSeq: 2 }]);
    expect(verify(entries.slice(3), { head, checkpoint })).toEqual([{ kind: 'gap', service: 'patient-service', fromSeq: 3, toSeq: 3 }]);
  });
});
