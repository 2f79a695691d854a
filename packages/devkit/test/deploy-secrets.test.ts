import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { renderDeploySecrets } from '../src/deploy-secrets.js';

function overlay(): { root: string; secrets: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'deploy-secrets-'));
  const secrets = path.join(root, 'k8s', 'overlays', 'dev', 'secrets');
  mkdirSync(secrets, { recursive: true });
  writeFileSync(
    path.join(secrets, 'patient-service.env.example'),
    'databaseUrl=postgres://patient:${PATIENT_DB_PASSWORD}@postgres/patient\n',
  );
  writeFileSync(path.join(secrets, 'postgres-init.env.example'), 'PATIENT_DB_PASSWORD=${PATIENT_DB_PASSWORD}\nOTHER=${OTHER}\n');
  writeFileSync(path.join(secrets, 'signing-keys.env.example'), 'keys=${SIGNING_KEYS}\n');
  return { root, secrets };
}

const envFile = (file: string) =>
  Object.fromEntries(
    readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );

const policyKids = (root: string) => {
  const component = parse(readFileSync(path.join(root, 'k8s/overlays/dev/generated/jwt-auth.yaml'), 'utf8')) as {
    spec: { metadata: { name: string; value: string }[] };
  };
  const rego = component.spec.metadata.find((m) => m.name === 'rego')!.value;
  const jwks = JSON.parse(/jwks := `([^`]*)`/.exec(rego)![1]!) as { keys: Record<string, string>[] };
  return jwks.keys;
};

describe('renderDeploySecrets', () => {
  it('gives one placeholder the same random value in every file, and a different one to another', async () => {
    const { root, secrets } = overlay();
    await renderDeploySecrets('k8s/overlays/dev', { root });
    const init = envFile(path.join(secrets, 'postgres-init.env'));
    expect(init.PATIENT_DB_PASSWORD).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(init.OTHER).not.toEqual(init.PATIENT_DB_PASSWORD);
    expect(envFile(path.join(secrets, 'patient-service.env')).databaseUrl).toBe(
      `postgres://patient:${init.PATIENT_DB_PASSWORD}@postgres/patient`,
    );
  });

  it('keeps values across runs, and rotation adds a key while keeping the previous one published', async () => {
    const { root, secrets } = overlay();
    await renderDeploySecrets('k8s/overlays/dev', { root });
    const first = envFile(path.join(secrets, 'postgres-init.env'));
    const [firstKey] = JSON.parse(envFile(path.join(secrets, 'signing-keys.env')).keys!) as { kid: string; d: string }[];
    expect(firstKey!.d).toBeDefined();

    await renderDeploySecrets('k8s/overlays/dev', { root });
    expect(envFile(path.join(secrets, 'postgres-init.env'))).toEqual(first);

    await renderDeploySecrets('k8s/overlays/dev', { root, rotateSigningKey: true });
    const keys = JSON.parse(envFile(path.join(secrets, 'signing-keys.env')).keys!) as { kid: string }[];
    expect(keys).toHaveLength(2);
    expect(keys[1]!.kid).toBe(firstKey!.kid);
    expect(envFile(path.join(secrets, 'postgres-init.env'))).toEqual(first);
    // The policy carries both public keys and no private part.
    const published = policyKids(root);
    expect(published.map((k) => k.kid)).toEqual(keys.map((k) => k.kid));
    expect(published.every((k) => k.d === undefined)).toBe(true);
  });

  it('names the missing templates of an unknown target', async () => {
    await expect(renderDeploySecrets('k8s/overlays/nowhere', { root: mkdtempSync(path.join(tmpdir(), 'ds-')) })).rejects.toThrow(
      /no secrets\/ folder/,
    );
  });

  it('compose: .env from .env.example, plus the key store the auth sidecar reads through AUTH_KEYS_FILE', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'deploy-secrets-compose-'));
    writeFileSync(path.join(root, '.env.example'), 'POSTGRES_PASSWORD=${POSTGRES_PASSWORD}\nAUTH_SIGNING_KEY_ID=${AUTH_SIGNING_KEY_ID}\n');
    await renderDeploySecrets('compose', { root });
    const env = envFile(path.join(root, '.env'));
    expect(env.POSTGRES_PASSWORD).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const store = parse(readFileSync(path.join(root, '.caregrid/compose/auth-keys.yaml'), 'utf8')) as {
      spec: { metadata: { name: string; envRef?: string }[] };
    };
    expect(store.spec.metadata).toContainEqual({ name: 'secretsFile', envRef: 'AUTH_KEYS_FILE' });
    const keysOf = (kid: string) => {
      const file = JSON.parse(readFileSync(path.join(root, `.caregrid/compose/keys/${kid}.json`), 'utf8')) as Record<
        string,
        Record<string, string>
      >;
      return (JSON.parse(file['signing-keys']!.keys!) as { kid: string }[]).map((k) => k.kid);
    };
    // The keys file is named after the newest key, whose id .env carries (compose interpolates it into AUTH_KEYS_FILE).
    expect(keysOf(env.AUTH_SIGNING_KEY_ID!)).toEqual([env.AUTH_SIGNING_KEY_ID]);
    await renderDeploySecrets('compose', { root });
    expect(envFile(path.join(root, '.env'))).toEqual(env);

    await renderDeploySecrets('compose', { root, rotateSigningKey: true });
    const rotated = envFile(path.join(root, '.env')).AUTH_SIGNING_KEY_ID!;
    expect(rotated).not.toBe(env.AUTH_SIGNING_KEY_ID);
    expect(keysOf(rotated)).toEqual([rotated, env.AUTH_SIGNING_KEY_ID]);
    expect(readdirSync(path.join(root, '.caregrid/compose/keys'))).toEqual([`${rotated}.json`]);
  });

  it('compose: a trust bundle for Sentry (issuer signed by the root), kept across runs, its root in .env', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'deploy-secrets-compose-'));
    writeFileSync(path.join(root, '.env.example'), 'DAPR_TRUST_ANCHORS=${DAPR_TRUST_ANCHORS}\n');
    const dir = path.join(root, '.caregrid/compose/sentry');
    await renderDeploySecrets('compose', { root });
    const first = readFileSync(path.join(dir, 'ca.crt'), 'utf8');
    expect(
      execFileSync('openssl', ['verify', '-CAfile', path.join(dir, 'ca.crt'), path.join(dir, 'issuer.crt')], { encoding: 'utf8' }),
    ).toMatch(/: OK/);
    expect(readFileSync(path.join(dir, 'issuer.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(readFileSync(path.join(root, '.env'), 'utf8')).toBe(`DAPR_TRUST_ANCHORS="${first.trim().replace(/\n/g, '\\n')}"\n`);
    await renderDeploySecrets('compose', { root });
    expect(readFileSync(path.join(dir, 'ca.crt'), 'utf8')).toBe(first);
  });
});
