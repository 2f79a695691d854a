/** Role and database names: the app-id with `-` → `_` (SQL identifiers, no quoting games). */
export const sqlName = (name: string) => {
  const value = name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(value)) throw new Error(`cannot derive a database name from "${name}"`);
  return value;
};
