import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { jest } from '@jest/globals';
import pg from 'pg';
import { ConfigError } from '../src/config.js';
import { createMysqlPool } from '../src/data/mysql.js';
import { createPgPool } from '../src/data/postgres.js';
import { mysqlConnectionConfig, pgConnectionConfig } from '../src/data/tls.js';

const CA = '-----BEGIN CERTIFICATE-----\ntest-ca\n-----END CERTIFICATE-----\n';
const read = (file: string) => {
  if (file !== '/etc/caregrid/database-ca/ca.crt') throw new Error(`unexpected read of ${file}`);
  return CA;
};

describe('PostgreSQL URL → node-postgres TLS options', () => {
  const base = 'postgres://patient_service:secret@db.example.internal:5432/patient_service';

  it('verify-full with a CA file: the CA, the chain and the host name checked; the TLS parameters leave the URL', () => {
    const config = pgConnectionConfig(`${base}?sslmode=verify-full&sslrootcert=/etc/caregrid/database-ca/ca.crt&application_name=x`, read);
    expect(config).toEqual({ connectionString: `${base}?application_name=x`, ssl: { ca: CA, rejectUnauthorized: true } });
  });

  it('no TLS parameter: the URL as it was, no TLS (the local databases)', () => {
    expect(pgConnectionConfig(base, read)).toEqual({ connectionString: base });
    // Untouched, byte for byte, when there is nothing to take out (no re-encoding of other parameters).
    const withOptions = `${base}?options=-c%20search_path%3Dcare`;
    expect(pgConnectionConfig(withOptions, read).connectionString).toBe(withOptions);
    expect(pgConnectionConfig(`${base}?sslmode=disable`, read)).toEqual({ connectionString: base, ssl: false });
  });

  it('libpq meanings for the weaker modes, and system roots on request', () => {
    expect(pgConnectionConfig(`${base}?sslmode=require`, read).ssl).toEqual({ rejectUnauthorized: false });
    for (const mode of ['verify-ca', 'require']) {
      const { ssl } = pgConnectionConfig(`${base}?sslmode=${mode}&sslrootcert=/etc/caregrid/database-ca/ca.crt`, read);
      expect(ssl).toMatchObject({ ca: CA, rejectUnauthorized: true });
      expect((ssl as tls.ConnectionOptions).checkServerIdentity?.('other.host', {} as tls.PeerCertificate)).toBeUndefined();
    }
    expect(pgConnectionConfig(`${base}?sslmode=verify-full&sslrootcert=system`, read).ssl).toEqual({ rejectUnauthorized: true });
    // A CA file alone means full verification.
    expect(pgConnectionConfig(`${base}?sslrootcert=/etc/caregrid/database-ca/ca.crt`, read).ssl).toEqual({
      ca: CA,
      rejectUnauthorized: true,
    });
  });

  it('an unknown or unsafe-by-surprise mode fails at start, naming it', () => {
    for (const mode of ['prefer', 'verify_full']) {
      expect(() => pgConnectionConfig(`${base}?sslmode=${mode}`, read)).toThrow(ConfigError);
      expect(() => pgConnectionConfig(`${base}?sslmode=${mode}`, read)).toThrow(new RegExp(`sslmode "${mode}"`));
    }
  });

  it('createPgPool hands node-postgres our options, which it keeps (it does not re-parse them from the URL)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pg-ca-'));
    try {
      writeFileSync(path.join(dir, 'ca.crt'), CA);
      const pool = createPgPool(`${base}?sslmode=verify-full&sslrootcert=${encodeURIComponent(path.join(dir, 'ca.crt'))}`);
      const client = new pg.Client(pool.options) as pg.Client & { ssl: unknown };
      expect(client.ssl).toEqual({ ca: CA, rejectUnauthorized: true });
      await pool.end();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('MySQL URL → mysql2 TLS options', () => {
  const base = 'mysql://doctor_service:secret@mysql.example.internal:3306/doctor_service';

  it('VERIFY_IDENTITY with a CA file: chain and host name; the TLS parameters leave the URL', () => {
    expect(mysqlConnectionConfig(`${base}?ssl-mode=VERIFY_IDENTITY&ssl-ca=/etc/caregrid/database-ca/ca.crt`, read)).toEqual({
      uri: base,
      ssl: { ca: CA, rejectUnauthorized: true, verifyIdentity: true },
    });
  });

  it('the other modes, as the mysql client means them', () => {
    expect(mysqlConnectionConfig(base, read)).toEqual({ uri: base });
    expect(mysqlConnectionConfig(`${base}?ssl-mode=disabled`, read)).toEqual({ uri: base });
    expect(mysqlConnectionConfig(`${base}?ssl-mode=REQUIRED`, read).ssl).toEqual({ rejectUnauthorized: false });
    expect(mysqlConnectionConfig(`${base}?ssl-ca=/etc/caregrid/database-ca/ca.crt`, read).ssl).toEqual({
      ca: CA,
      rejectUnauthorized: true,
      verifyIdentity: false,
    });
    expect(() => mysqlConnectionConfig(`${base}?ssl-mode=PREFERRED`, read)).toThrow(/ssl-mode "PREFERRED"/);
  });

  it('createMysqlPool gives mysql2 the options, without it warning about parameters it does not know', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mysql-ca-'));
    const warnings: unknown[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((...args) => void warnings.push(args));
    try {
      writeFileSync(path.join(dir, 'ca.crt'), CA);
      const pool = createMysqlPool(`${base}?ssl-mode=VERIFY_IDENTITY&ssl-ca=${encodeURIComponent(path.join(dir, 'ca.crt'))}`);
      const config = (pool.pool as unknown as { config: { connectionConfig: { ssl: unknown; host: string } } }).config.connectionConfig;
      expect(config).toMatchObject({ host: 'mysql.example.internal', ssl: { ca: CA, rejectUnauthorized: true, verifyIdentity: true } });
      expect(warnings).toEqual([]);
      await pool.end();
    } finally {
      spy.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * What the PostgreSQL options do on a real TLS handshake (node:tls, as node-postgres uses it,
 * which sends the host name as servername): a server certificate for db.caregrid.test from a
 * private CA.
 */
describe('the options on a real TLS handshake', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'db-tls-'));
  const file = (name: string) => path.join(dir, name);
  let server: tls.Server;
  let port = 0;

  beforeAll(async () => {
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    // A P-256 key and a certificate (-x509) or a signing request for it.
    const keyAnd = (kind: '-x509' | '-new', name: string, subject: string) =>
      openssl(
        'req',
        kind,
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        kind === '-new' ? `${name}.csr` : `${name}.crt`,
        '-subj',
        subject,
      );
    keyAnd('-x509', 'ca', '/CN=test database CA');
    keyAnd('-x509', 'other', '/CN=another CA');
    keyAnd('-new', 'db', '/CN=db');
    writeFileSync(file('ext.cnf'), 'subjectAltName=DNS:db.caregrid.test\n');
    openssl(
      'x509',
      '-req',
      '-in',
      'db.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      'ext.cnf',
      '-out',
      'db.crt',
    );
    server = tls.createServer({ key: readFileSync(file('db.key')), cert: readFileSync(file('db.crt')) }, (socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  }, 30_000);

  afterAll(async () => {
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    rmSync(dir, { recursive: true, force: true });
  });

  const handshake = (url: string, servername: string) =>
    new Promise<string>((resolve) => {
      const { ssl } = pgConnectionConfig(url);
      const socket = tls.connect({ ...(ssl as tls.ConnectionOptions), host: '127.0.0.1', port, servername }, () => {
        socket.destroy();
        resolve('ok');
      });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
  const url = (mode: string, ca: string) =>
    `postgres://u:p@db.caregrid.test/db?sslmode=${mode}&sslrootcert=${encodeURIComponent(file(ca))}`;

  it('verify-full: the right CA and host name pass; another name or another CA fail', async () => {
    expect(await handshake(url('verify-full', 'ca.crt'), 'db.caregrid.test')).toBe('ok');
    expect(await handshake(url('verify-full', 'ca.crt'), 'impostor.caregrid.test')).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(await handshake(url('verify-full', 'other.crt'), 'db.caregrid.test')).toMatch(
      /UNABLE_TO_VERIFY|SELF_SIGNED|UNABLE_TO_GET_ISSUER/,
    );
  });

  it('verify-ca checks the chain only', async () => {
    expect(await handshake(url('verify-ca', 'ca.crt'), 'impostor.caregrid.test')).toBe('ok');
    expect(await handshake(url('verify-ca', 'other.crt'), 'db.caregrid.test')).not.toBe('ok');
  });
});
