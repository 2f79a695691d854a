import { outsideRequest } from '../context.js';

/**
 * Group commit for small writes that must be durable before a request answers
 * (an audit entry per read): an item goes out at once when fewer than
 * `maxInFlight` writes are running, otherwise it waits and goes with the others
 * that arrived meanwhile in the next write (one statement, one commit). Each
 * caller's promise settles only with the write that holds its item, so nothing
 * is acknowledged before it is committed and a crash loses only items whose
 * requests were not answered yet; a failed write fails exactly its callers.
 * No timer: under no load nothing waits. Writes run outside the request that
 * happened to start them (their spans and logs belong to none of the callers).
 */
export function groupCommit<T>(
  writeMany: (items: T[]) => Promise<void>,
  options: { maxBatch?: number; maxInFlight?: number } = {},
): (item: T) => Promise<void> {
  const { maxBatch = 500, maxInFlight = 2 } = options;
  let waiting: { item: T; resolve: () => void; reject: (error: unknown) => void }[] = [];
  let inFlight = 0;
  const flush = () => {
    while (inFlight < maxInFlight && waiting.length > 0) {
      const batch = waiting.slice(0, maxBatch);
      waiting = waiting.slice(batch.length);
      inFlight++;
      void outsideRequest(() => writeMany(batch.map((w) => w.item)))
        .then(
          () => batch.forEach((w) => w.resolve()),
          (error: unknown) => batch.forEach((w) => w.reject(error)),
        )
        .finally(() => {
          inFlight--;
          flush();
        });
    }
  };
  return (item) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      flush();
    });
}
