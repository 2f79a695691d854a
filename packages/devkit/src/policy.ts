import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { stringify } from 'yaml';
import { gatewayPolicyIndex, gatewayPolicyTables } from '@caregrid/platform';
import { repoRoot, stateDir } from './paths.js';
import { readSecrets, writeSecrets, type SecretsDocument } from './secrets-file.js';

/** auth-service's secret holds the signing keys (private ES256 JWKs, newest first). */
export const SIGNING_KEYS_SECRET = { name: 'auth-service', key: 'signingKeys' } as const;
export const generatedResourcesDir = path.join(stateDir, 'generated');
/** The gateway's Rego policy before rendering: its markers (__JWKS__, __ROUTES__, __PUBLIC_ROUTES__) in place. */
export const POLICY_SOURCE = path.join(repoRoot, 'dapr', 'policy', 'gateway.rego');

export async function generateSigningKey(now = new Date()): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: `${now.toISOString().slice(0, 10)}-${randomBytes(4).toString('hex')}`, alg: 'ES256', use: 'sig' };
}

/** The public half of private JWKs: what verifiers may see. */
export function publicJwks(privateKeys: JWK[]): { keys: JWK[] } {
  return { keys: privateKeys.map(({ kty, crv, x, y, kid }) => ({ kty, crv, x, y, kid, alg: 'ES256', use: 'sig' })) };
}

/** The gateway's Rego policy: the public keys and the access model's route tables in place of their markers. */
export function renderPolicy(source: string, jwks: { keys: JWK[] }, tables = gatewayPolicyTables()): string {
  const index = gatewayPolicyIndex(tables);
  return source
    .replace('__JWKS__', JSON.stringify(jwks))
    .replace('__ROUTES__', JSON.stringify(index.routes, null, 1))
    .replace('__PUBLIC_ROUTES__', JSON.stringify(index.publicRoutes, null, 1));
}

/** The gateway's OPA middleware component, with the public keys inlined into the policy. */
export function renderPolicyComponent(jwks: { keys: JWK[] }): string {
  return opaComponent(renderPolicy(readFileSync(POLICY_SOURCE, 'utf8'), jwks));
}

/** The OPA middleware component (`jwt-auth`) around a rendered Rego policy, for the sidecars of `scopes`. */
export function opaComponent(rego: string, scopes: string[] = ['gateway']): string {
  return stringify({
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'jwt-auth' },
    spec: {
      type: 'middleware.http.opa',
      version: 'v1',
      metadata: [
        { name: 'defaultStatus', value: '401' },
        { name: 'includedHeaders', value: 'Authorization' },
        { name: 'rego', value: rego },
      ],
    },
    scopes,
  });
}

/** Writes the component where the gateway sidecar loads it; daprd hot-reloads a changed file. */
export function writePolicyComponent(secrets: SecretsDocument, dir = generatedResourcesDir): string {
  const keys = secrets[SIGNING_KEYS_SECRET.name]?.[SIGNING_KEYS_SECRET.key];
  const jwks = publicJwks(keys ? (JSON.parse(keys) as JWK[]) : []);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'jwt-auth.yaml');
  writeFileSync(`${file}.tmp`, renderPolicyComponent(jwks));
  renameSync(`${file}.tmp`, file);
  return file;
}

/** Where auth-service reads its signing keys: a secret store of their own, so a rotation can reload it. */
export const KEY_STORE = { component: 'auth-keys', secret: 'signing-keys', key: 'keys' } as const;
export const keysDir = path.join(stateDir, 'keys');

/** auth-service's `auth-keys` store (a local file store) over the keys file the given metadata item names. */
export function renderKeyStoreComponent(
  secretsFile: { name: 'secretsFile'; value: string } | { name: 'secretsFile'; envRef: string },
): string {
  return stringify({
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Component',
    metadata: { name: KEY_STORE.component },
    spec: { type: 'secretstores.local.file', version: 'v1', metadata: [secretsFile, { name: 'multiValued', value: 'true' }] },
    scopes: ['auth-service'],
  });
}

/**
 * The `auth-keys` secret store component over a keys file named after the
 * newest key. Local file stores read their file once; a rotation therefore
 * writes a new file and points the component at it, which daprd hot-reloads
 * (a changed spec re-initialises the store). On Kubernetes the same component
 * name is a `kubernetes` store, which reads live.
 */
export function writeKeyStoreComponent(secrets: SecretsDocument, resourcesDir: string, keyFilesDir: string): string | undefined {
  const keys = secrets[SIGNING_KEYS_SECRET.name]?.[SIGNING_KEYS_SECRET.key];
  if (!keys) return undefined;
  const [newest] = JSON.parse(keys) as JWK[];
  mkdirSync(keyFilesDir, { recursive: true, mode: 0o700 });
  const keysFile = path.join(keyFilesDir, `${newest!.kid}.json`);
  writeFileSync(keysFile, JSON.stringify({ [KEY_STORE.secret]: { [KEY_STORE.key]: keys } }), { mode: 0o600 });
  mkdirSync(resourcesDir, { recursive: true });
  const component = path.join(resourcesDir, `${KEY_STORE.component}.yaml`);
  writeFileSync(`${component}.tmp`, renderKeyStoreComponent({ name: 'secretsFile', value: keysFile }));
  renameSync(`${component}.tmp`, component);
  return component;
}

/** Everything derived from the signing keys: the gateway policy (public keys) and auth's key store (private keys). */
export function writeGeneratedResources(secrets: SecretsDocument, resourcesDir = generatedResourcesDir, keyFilesDir = keysDir): void {
  // Policy first: the new public key must be accepted before auth-service signs with it.
  writePolicyComponent(secrets, resourcesDir);
  writeKeyStoreComponent(secrets, resourcesDir, keyFilesDir);
}

/** Secrets some services need beyond a database, generated once when absent. */
export const secretGenerators: Record<string, () => Promise<Record<string, string>>> = {
  signingKeys: async () => ({ signingKeys: JSON.stringify([await generateSigningKey()]) }),
  bootstrapAdmin: async () => ({
    bootstrapAdminEmail: 'admin@caregrid.local',
    bootstrapAdminPassword: randomBytes(15).toString('base64url'),
  }),
};

export const GENERATOR_KEYS: Record<string, string> = { signingKeys: 'signingKeys', bootstrapAdmin: 'bootstrapAdminEmail' };

/**
 * Key rotation: a new key signs from now on; the previous one stays published
 * so tokens it signed remain valid until they expire; older keys go.
 */
export async function rotateSigningKeys(
  file: string,
  resourcesDir: string,
  keyFilesDir: string,
): Promise<{ added: string; kept?: string; dropped: number }> {
  const secrets = readSecrets(file);
  const secret = secrets[SIGNING_KEYS_SECRET.name];
  const stored = secret?.[SIGNING_KEYS_SECRET.key];
  if (!secret || !stored) throw new Error(`no signing keys in ${file} yet: run \`npm run dev\` once first`);
  const current = JSON.parse(stored) as JWK[];
  const next = await generateSigningKey();
  secret[SIGNING_KEYS_SECRET.key] = JSON.stringify([next, current[0]]);
  writeSecrets(secrets, file);
  writeGeneratedResources(secrets, resourcesDir, keyFilesDir);
  return { added: next.kid!, kept: current[0]?.kid, dropped: Math.max(0, current.length - 1) };
}
