import { describe, expect, it } from '@jest/globals';
import { bulkWaves } from '../src/data/outbox.js';

const event = (topic: string, subject: string, n: number, data: unknown = { n }) => ({ id: `${subject}-${n}`, topic, subject, data });
const ids = (waves: { id: string }[][][]) => waves.map((wave) => wave.map((request) => request.map((e) => e.id)));

describe('bulkWaves', () => {
  it('puts at most one event of a subject in a wave, in the order of the claim', () => {
    const claim = [event('t', 'a', 1), event('t', 'b', 1), event('t', 'a', 2), event('t', 'a', 3), event('t', 'b', 2)];
    expect(ids(bulkWaves(claim))).toEqual([[['a-1', 'b-1']], [['a-2', 'b-2']], [['a-3']]]);
  });

  it('sends a wave as one request per topic', () => {
    const claim = [event('audit', 'p1', 1), event('patients', 'p1', 1), event('audit', 'p2', 1)];
    expect(ids(bulkWaves(claim))).toEqual([[['p1-1', 'p2-1'], ['p1-1']]]);
  });

  it('cuts a request at the most events and about the most data it may hold, never leaving an event out', () => {
    const many = Array.from({ length: 5 }, (_, i) => event('t', `s${i}`, 1));
    expect(ids(bulkWaves(many, { maxEvents: 2, maxBytes: 1_000_000 }))).toEqual([[['s0-1', 's1-1'], ['s2-1', 's3-1'], ['s4-1']]]);
    const big = 'x'.repeat(600);
    const heavy = [event('t', 'a', 1, big), event('t', 'b', 1, big), event('t', 'c', 1, 'small')];
    expect(ids(bulkWaves(heavy, { maxEvents: 100, maxBytes: 1_000 }))).toEqual([[['a-1'], ['b-1', 'c-1']]]);
    // An event larger than the limit still goes, alone.
    expect(ids(bulkWaves([event('t', 'a', 1, 'y'.repeat(5_000))], { maxEvents: 100, maxBytes: 1_000 }))).toEqual([[['a-1']]]);
  });

  it('keeps a subject apart per topic: the same subject on two topics is two subjects', () => {
    const claim = [event('audit', 'p1', 1), event('audit', 'p1', 2), event('patients', 'p1', 1)];
    expect(ids(bulkWaves(claim))).toEqual([[['p1-1'], ['p1-1']], [['p1-2']]]);
  });
});
