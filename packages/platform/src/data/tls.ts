import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError } from '../config.js';

/**
 * TLS to the databases, read from the connection URL the service's Secret holds, so one
 * `databaseUrl` says everything (the CA is a file path: on Kubernetes a Secret mounted into the
 * pod). The mapping is ours rather than the drivers' own URL parsing: node-postgres treats
 * `sslmode=require` as full verification (and will change that), mysql2 reads no CA path from a
 * URL at all, and neither verifies the host name of a MySQL server unless told.
 *
 * The TLS parameters are taken out of the URL handed to the driver: node-postgres would parse
 * them again over ours, mysql2 warns about options it does not know.
 */
export type ReadCa = (file: string) => string;
const readCa: ReadCa = (file) => readFileSync(file, 'utf8');

/** The URL as given when it held no TLS parameter (nothing re-encoded), else without them. */
const rest = (original: string, url: URL, taken: Record<string, string | undefined>[]) =>
  taken.some((t) => Object.values(t).some((v) => v !== undefined)) ? url.toString() : original;

function take(url: URL, ...names: string[]): Record<string, string | undefined> {
  const found = Object.fromEntries(names.map((n) => [n, url.searchParams.get(n) ?? undefined]));
  for (const n of names) url.searchParams.delete(n);
  return found;
}

/**
 * PostgreSQL, with libpq's names and meaning: `sslmode` = disable | require (encrypted, server
 * not checked — with `sslrootcert`, its chain is) | verify-ca (chain) | verify-full (chain and
 * host name: what production uses); `sslrootcert` = a CA file, or `system` for Node's built-in
 * roots; `sslcert`/`sslkey` a client certificate. No `sslmode`: no TLS unless a CA file is given
 * (then verify-full; node-postgres' `ssl=true` too). Anything else fails at start rather than
 * connecting less safely than asked.
 */
export function pgConnectionConfig(
  connectionString: string,
  read: ReadCa = readCa,
): { connectionString: string; ssl?: false | ConnectionOptions } {
  const url = new URL(connectionString);
  const params = take(url, 'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'ssl');
  const { sslmode, sslrootcert, sslcert, sslkey, ssl: sslFlag } = params;
  // node-postgres' own switch between its semantics and libpq's: ours are libpq's either way.
  const compat = take(url, 'uselibpqcompat');
  const files = {
    ...(sslrootcert && sslrootcert !== 'system' ? { ca: read(sslrootcert) } : {}),
    ...(sslcert ? { cert: read(sslcert) } : {}),
    ...(sslkey ? { key: read(sslkey) } : {}),
  };
  const flag = sslFlag === 'true' || sslFlag === '1' ? 'verify-full' : sslFlag === 'false' || sslFlag === '0' ? 'disable' : undefined;
  const mode = sslmode ?? flag ?? (sslrootcert ? 'verify-full' : undefined);
  const chainOnly: ConnectionOptions = { ...files, rejectUnauthorized: true, checkServerIdentity: () => undefined };
  let ssl: false | ConnectionOptions | undefined;
  switch (mode) {
    case undefined:
      ssl = undefined;
      break;
    case 'disable':
      ssl = false;
      break;
    case 'require':
      ssl = sslrootcert ? chainOnly : { ...files, rejectUnauthorized: false };
      break;
    case 'verify-ca':
      ssl = chainOnly;
      break;
    case 'verify-full':
      // Node checks the certificate against the host name it connects to (the default checkServerIdentity).
      ssl = { ...files, rejectUnauthorized: true };
      break;
    default:
      throw new ConfigError([`databaseUrl: sslmode "${mode}" is not one of disable, require, verify-ca, verify-full`]);
  }
  return { connectionString: rest(connectionString, url, [params, compat]), ...(ssl === undefined ? {} : { ssl }) };
}

/** mysql2's `ssl` (its own type, not node:tls's; `verifyIdentity` is the host name check). */
export type MysqlTls = { ca?: string; rejectUnauthorized: boolean; verifyIdentity?: boolean };

/**
 * MySQL, with the mysql client's names: `ssl-mode` = DISABLED | REQUIRED (encrypted, server not
 * checked) | VERIFY_CA (chain) | VERIFY_IDENTITY (chain and host name: production); `ssl-ca` = a
 * CA file (alone it means VERIFY_CA, as for the mysql client). No `ssl-mode`: mysql2 reads the
 * URL as it does (no TLS by default).
 */
export function mysqlConnectionConfig(uri: string, read: ReadCa = readCa): { uri: string; ssl?: MysqlTls } {
  const url = new URL(uri);
  const params = take(url, 'ssl-mode', 'ssl-ca');
  const { 'ssl-mode': sslMode, 'ssl-ca': sslCa } = params;
  const mode = (sslMode ?? (sslCa ? 'VERIFY_CA' : undefined))?.toUpperCase();
  const ca = sslCa ? { ca: read(sslCa) } : {};
  const target = { uri: rest(uri, url, [params]) };
  switch (mode) {
    case undefined:
    case 'DISABLED':
      return target;
    case 'REQUIRED':
      return { ...target, ssl: { rejectUnauthorized: false } };
    case 'VERIFY_CA':
      return { ...target, ssl: { ...ca, rejectUnauthorized: true, verifyIdentity: false } };
    case 'VERIFY_IDENTITY':
      return { ...target, ssl: { ...ca, rejectUnauthorized: true, verifyIdentity: true } };
    default:
      throw new ConfigError([`databaseUrl: ssl-mode "${sslMode}" is not one of DISABLED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY`]);
  }
}
