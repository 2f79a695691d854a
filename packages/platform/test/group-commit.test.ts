/** Group commit of audit entries: batching must never acknowledge an item before its own write succeeded. */
import { groupCommit } from '../src/data/group-commit.js';

function controlledWriter() {
  const writes: { items: number[]; done: () => void; fail: (error: Error) => void }[] = [];
  const writeMany = (items: number[]) => new Promise<void>((resolve, reject) => writes.push({ items, done: resolve, fail: reject }));
  return { writes, writeMany };
}
const tick = () => new Promise((resolve) => setImmediate(resolve));

it('writes at once when idle, and batches what arrives while the writes are in flight', async () => {
  const { writes, writeMany } = controlledWriter();
  const append = groupCommit(writeMany, { maxInFlight: 1 });
  const settled: number[] = [];
  const calls = [1, 2, 3, 4].map((n) => append(n).then(() => settled.push(n)));
  await tick();
  expect(writes.map((w) => w.items)).toEqual([[1]]);
  writes[0]!.done();
  await tick();
  expect(settled).toEqual([1]); // 2–4 are not acknowledged before their own write
  expect(writes.map((w) => w.items)).toEqual([[1], [2, 3, 4]]);
  writes[1]!.done();
  await Promise.all(calls);
  expect(settled).toEqual([1, 2, 3, 4]);
});

it('a failed write fails exactly its own callers; later items still go out', async () => {
  const { writes, writeMany } = controlledWriter();
  const append = groupCommit(writeMany, { maxInFlight: 1 });
  const first = append(1);
  const second = append(2);
  const third = append(3);
  await tick();
  writes[0]!.fail(new Error('database down'));
  await expect(first).rejects.toThrow('database down');
  await tick();
  expect(writes[1]!.items).toEqual([2, 3]);
  writes[1]!.done();
  await expect(second).resolves.toBeUndefined();
  await expect(third).resolves.toBeUndefined();
});

it('keeps batches within maxBatch and runs up to maxInFlight writes side by side', async () => {
  const { writes, writeMany } = controlledWriter();
  const append = groupCommit(writeMany, { maxInFlight: 2, maxBatch: 2 });
  const calls = [1, 2, 3, 4, 5, 6].map((n) => append(n));
  await tick();
  expect(writes.map((w) => w.items)).toEqual([[1], [2]]);
  writes[0]!.done();
  await tick();
  expect(writes.map((w) => w.items)).toEqual([[1], [2], [3, 4]]);
  writes[1]!.done();
  writes[2]!.done();
  await tick();
  expect(writes.map((w) => w.items)).toEqual([[1], [2], [3, 4], [5, 6]]);
  writes[3]!.done();
  await Promise.all(calls);
});
