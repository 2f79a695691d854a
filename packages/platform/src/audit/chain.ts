import { createHash } from 'node:crypto';
import type { AuditEntry } from '@caregrid/contracts';
import { canonicalJson } from '../http/idempotency.js';

/**
 * The hash chain of a service's audit entries: each entry carries its number in the service's
 * sequence (`seq`, from 1), the previous entry's hash (`prevHash`; the first entry's is
 * GENESIS_HASH) and its own `hash`, SHA-256 over its canonical JSON (keys sorted, absent fields
 * left out: canonicalJson, as for Idempotency-Keys) without `hash`. A trail whose
 * store deleted an entry shows a gap in `seq`; one that altered an entry, a hash that no longer
 * matches (or a `prevHash` that no longer links); one that dropped the newest entries, a highest
 * `seq` below the publisher's own head (ChainHead, kept in the publisher's database).
 */
export const GENESIS_HASH = '0'.repeat(64);

/** Where a chain stands: its last entry's number and hash (seq 0 and GENESIS_HASH before the first). */
export type ChainHead = { seq: number; hash: string };
export const EMPTY_CHAIN: ChainHead = { seq: 0, hash: GENESIS_HASH };

/** The hash an entry must carry: over everything it says but its own `hash`. */
export function entryHash(entry: AuditEntry): string {
  const { hash: _hash, ...hashed } = entry;
  return createHash('sha256').update(canonicalJson(hashed)).digest('hex');
}

/** Links entries onto a chain in the order given; the new head goes back to the chain's keeper. */
export function chainEntries(head: ChainHead, entries: AuditEntry[]): { entries: AuditEntry[]; head: ChainHead } {
  let { seq, hash } = head;
  const linked = entries.map((entry) => {
    const { seq: _seq, prevHash: _prev, hash: _hash, ...content } = entry;
    const next: AuditEntry = { ...content, seq: ++seq, prevHash: hash };
    hash = entryHash(next);
    return { ...next, hash };
  });
  return { entries: linked, head: { seq, hash } };
}

/** What verifying a chain found wrong, each naming the entry (or the range) concerned. */
export type ChainProblem =
  /** Entries fromSeq..toSeq are missing (deleted, or never stored). */
  | { kind: 'gap'; service: string; fromSeq: number; toSeq: number }
  /** The entry no longer matches its hash: changed after it was written. */
  | { kind: 'altered'; service: string; seq: number; id: string }
  /** The entry's prevHash is not the hash of the entry before it: that one was rewritten (hash recomputed) or replaced. */
  | { kind: 'unlinked'; service: string; seq: number; id: string; previousId: string }
  /** Several entries hold one place. */
  | { kind: 'duplicate'; service: string; seq: number; ids: string[] }
  /** The newest entries the publisher wrote (storedSeq+1..headSeq) are not in the trail, or the newest stored is not the one the publisher wrote. */
  | { kind: 'truncated'; service: string; storedSeq: number; headSeq: number };

/**
 * Walks one service's chain as stored. `entries`: its chained entries, any order. `checkpoint`:
 * where retention left it (the last removed entry; EMPTY_CHAIN when nothing was removed): entries
 * at or below it are not expected. `head`: the publisher's own head, when known; `pending`: seqs
 * the publisher has written but not yet published (on their way, not missing).
 */
export function verifyChain(input: {
  service: string;
  entries: AuditEntry[];
  checkpoint: ChainHead;
  head?: ChainHead;
  pending?: ReadonlySet<number>;
}): ChainProblem[] {
  const { service, checkpoint } = input;
  const pending = input.pending ?? new Set<number>();
  const problems: ChainProblem[] = [];
  const bySeq = new Map<number, AuditEntry[]>();
  for (const entry of input.entries) {
    if (entry.seq === undefined || entry.seq <= checkpoint.seq) continue;
    bySeq.set(entry.seq, [...(bySeq.get(entry.seq) ?? []), entry]);
  }
  const missingBetween = (from: number, to: number) => {
    for (let seq = from; seq <= to; seq++) if (!pending.has(seq)) return true;
    return false;
  };
  let expected = checkpoint.seq + 1;
  let previous: AuditEntry | ChainHead | undefined = checkpoint;
  for (const seq of [...bySeq.keys()].sort((a, b) => a - b)) {
    if (seq > expected) {
      if (missingBetween(expected, seq - 1)) problems.push({ kind: 'gap', service, fromSeq: expected, toSeq: seq - 1 });
      previous = undefined;
    }
    expected = seq + 1;
    const found = bySeq.get(seq)!;
    if (found.length > 1) {
      problems.push({ kind: 'duplicate', service, seq, ids: found.map((e) => e.id) });
      previous = undefined;
      continue;
    }
    const entry = found[0]!;
    if (entry.hash !== entryHash(entry)) problems.push({ kind: 'altered', service, seq, id: entry.id });
    else if (previous && entry.prevHash !== previous.hash)
      problems.push({ kind: 'unlinked', service, seq, id: entry.id, previousId: 'id' in previous ? String(previous.id) : 'checkpoint' });
    previous = entry;
  }
  const stored = expected - 1;
  const { head } = input;
  if (
    head &&
    (stored < head.seq
      ? missingBetween(stored + 1, head.seq)
      : stored === head.seq && previous !== undefined && previous.hash !== head.hash)
  ) {
    problems.push({ kind: 'truncated', service, storedSeq: stored, headSeq: head.seq });
  }
  return problems;
}
