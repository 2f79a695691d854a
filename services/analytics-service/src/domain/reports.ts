/** The appointment counts a report shows, by name, from their event types (name → type). */
export type CountNames = Readonly<Record<string, string>>;

/** Counts per event type as counts per name; a name with no events counts 0. */
export function countsByName(names: CountNames, counts: ReadonlyMap<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(names).map(([name, type]) => [name, counts.get(type) ?? 0]));
}

/**
 * Rows of (day, type, count) as one entry per day with every name counted, in the rows' order
 * of days. A row of a type that has no name is not counted.
 */
export function countsPerDay(names: CountNames, rows: { day: string; type: string; count: number }[]) {
  const days = new Map<string, Record<string, number>>();
  for (const row of rows) {
    const counts = days.get(row.day) ?? Object.fromEntries(Object.keys(names).map((name) => [name, 0]));
    const name = Object.entries(names).find(([, type]) => type === row.type)?.[0];
    if (name !== undefined) counts[name] = row.count;
    days.set(row.day, counts);
  }
  return [...days].map(([day, counts]) => ({ day, ...counts }));
}
