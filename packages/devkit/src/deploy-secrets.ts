import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { JWK } from 'jose';
import { DAPR_NAMESPACE, ENDPOINTS } from '@caregrid/platform';
import { repoRoot } from './paths.js';
import { writePrivateFile } from './provision.js';
import { generateSigningKey, KEY_STORE, publicJwks, renderKeyStoreComponent, renderPolicyComponent } from './policy.js';
import { newSentryTokenKey, SCHEDULER_SPIFFE_ID, sentryJwks, sidecarSpiffeId, signSentryToken } from './sentry-token.js';

/**
 * Secrets for Docker Compose and Kubernetes, made from committed templates.
 *
 * A template is a `*.example` file whose `${NAME}` placeholders stand for
 * secrets: each NAME gets one random value, the same in every file of the
 * target (a database password appears in the database's init secret and in the
 * service's URL), kept across runs (re-rendering must not change a password a
 * database was created with). `${SIGNING_KEYS}` is the JSON array of auth's
 * private ES256 keys, newest first. The gateway's policy component is rendered
 * with their public halves. Nothing written here is committed.
 *
 * Targets:
 * - `compose`: `.env.example` → `.env`; `.caregrid/compose/` gets the policy
 *   component, auth's key store component (file path via `envRef: AUTH_KEYS_FILE`)
 *   and the keys file `keys/<newest kid>.json`, whose kid `.env` holds as
 *   `${AUTH_SIGNING_KEY_ID}` (a local file store reads its file once: a rotation
 *   must change the path, and with it the sidecar's environment, so Compose
 *   recreates the sidecar), and `sentry/` the mTLS trust bundle of the Sentry service
 *   (root `ca.crt`, `issuer.crt`, `issuer.key`; made once, kept across runs),
 *   whose root `.env` hands every sidecar as `${DAPR_TRUST_ANCHORS}`. Sentry signs only for
 *   the holder of a token naming the requester: `.env` holds each sidecar's
 *   (`${<APP>_SENTRY_TOKEN}`, `<APP>` its app-id without `-service`), the scheduler's
 *   (`${SCHEDULER_SENTRY_TOKEN}`) and the public key Sentry checks them with
 *   (`${SENTRY_JWKS}`); the signing key stays in the values file (made once, kept).
 * - a Kubernetes overlay folder (e.g. `k8s/overlays/dev`): `secrets/*.example` →
 *   `secrets/*` (read by the overlay's secretGenerator); `generated/jwt-auth.yaml`.
 */
export const SIGNING_KEYS_PLACEHOLDER = 'SIGNING_KEYS';
export const TRUST_ANCHORS_PLACEHOLDER = 'DAPR_TRUST_ANCHORS';
export const SIGNING_KEY_ID_PLACEHOLDER = 'AUTH_SIGNING_KEY_ID';
const TRUST_BUNDLE_VALUE = 'DAPR_TRUST_BUNDLE';
const SENTRY_TOKEN_KEY_VALUE = 'SENTRY_TOKEN_KEY';
/** The `.env` variable of a sidecar's Sentry token: `gateway` → GATEWAY_SENTRY_TOKEN, `auth-service` → AUTH_SENTRY_TOKEN. */
export const sentryTokenVariable = (appId: string): string =>
  `${appId
    .replace(/-service$/, '')
    .replace(/-/g, '_')
    .toUpperCase()}_SENTRY_TOKEN`;

export type TrustBundle = { caCrt: string; issuerCrt: string; issuerKey: string };

/**
 * A root CA and the issuer Dapr Sentry signs sidecar certificates with, shaped
 * like the bundle Sentry generates for itself (Ed25519 root and issuer, both
 * CAs); valid a year — re-create by deleting it from the values file.
 */
export function generateTrustBundle(): TrustBundle {
  const dir = mkdtempSync(path.join(tmpdir(), 'caregrid-trust-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    writeFileSync(
      path.join(dir, 'ext.cnf'),
      '[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n',
    );
    openssl('genpkey', '-algorithm', 'ed25519', '-out', 'ca.key');
    openssl(
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-subj',
      '/O=caregrid',
      '-days',
      '365',
      '-config',
      'ext.cnf',
      '-extensions',
      'ca',
      '-out',
      'ca.crt',
    );
    openssl('genpkey', '-algorithm', 'ed25519', '-out', 'issuer.key');
    openssl('req', '-new', '-key', 'issuer.key', '-subj', '/O=caregrid/CN=dapr-sentry-issuer', '-out', 'issuer.csr');
    openssl(
      'x509',
      '-req',
      '-in',
      'issuer.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '365',
      '-extfile',
      'ext.cnf',
      '-extensions',
      'ca',
      '-out',
      'issuer.crt',
    );
    const read = (name: string) => readFileSync(path.join(dir, name), 'utf8');
    return { caCrt: read('ca.crt'), issuerCrt: read('issuer.crt'), issuerKey: read('issuer.key') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const PLACEHOLDER = /\$\{([A-Z][A-Z0-9_]*)\}/g;

type Layout = { templates: string[]; generatedDir: string; valuesFile: string; compose: boolean };

function layoutOf(target: string, root: string): Layout {
  if (target === 'compose') {
    return {
      templates: [path.join(root, '.env.example')],
      generatedDir: path.join(root, '.caregrid', 'compose'),
      // Not beside the generated files: compose copies those into containers, the values never.
      valuesFile: path.join(root, '.caregrid', 'deploy', 'compose.values.json'),
      compose: true,
    };
  }
  const overlay = path.resolve(root, target);
  const secretsDir = path.join(overlay, 'secrets');
  if (!existsSync(secretsDir)) throw new Error(`${target}: no secrets/ folder of templates (expected ${secretsDir})`);
  const slug = path.relative(root, overlay).replace(/[^A-Za-z0-9]+/g, '-');
  return {
    templates: readdirSync(secretsDir)
      .filter((name) => name.endsWith('.example'))
      .map((name) => path.join(secretsDir, name)),
    generatedDir: path.join(overlay, 'generated'),
    valuesFile: path.join(root, '.caregrid', 'deploy', `${slug}.values.json`),
    compose: false,
  };
}

const newSecret = () => randomBytes(24).toString('base64url');

/** Returns the files written. */
export async function renderDeploySecrets(target: string, options: { root?: string; rotateSigningKey?: boolean } = {}): Promise<string[]> {
  const root = options.root ?? repoRoot;
  const layout = layoutOf(target, root);
  if (layout.templates.length === 0 || !layout.templates.every(existsSync)) {
    throw new Error(`${target}: no templates found (${layout.templates.join(', ') || 'secrets/*.example'})`);
  }
  const values: Record<string, string> = existsSync(layout.valuesFile)
    ? (JSON.parse(readFileSync(layout.valuesFile, 'utf8')) as Record<string, string>)
    : {};

  const stored = values[SIGNING_KEYS_PLACEHOLDER];
  let keys: JWK[] = stored ? (JSON.parse(stored) as JWK[]) : [];
  // Rotation keeps the previous key published so the tokens it signed stay valid until they expire.
  if (keys.length === 0 || options.rotateSigningKey) keys = [await generateSigningKey(), ...keys.slice(0, 1)];
  values[SIGNING_KEYS_PLACEHOLDER] = JSON.stringify(keys);

  // Compose: the sidecars' mTLS trust bundle. (Kubernetes: the Dapr control plane's Sentry has its own.)
  let bundle: TrustBundle | undefined;
  if (layout.compose) {
    bundle = values[TRUST_BUNDLE_VALUE] ? (JSON.parse(values[TRUST_BUNDLE_VALUE]) as TrustBundle) : generateTrustBundle();
    values[TRUST_BUNDLE_VALUE] = JSON.stringify(bundle);
  }
  // The root as one double-quoted .env value: Compose's env-file reader turns the \n back into newlines.
  const special: Record<string, string> = bundle ? { [TRUST_ANCHORS_PLACEHOLDER]: `"${bundle.caCrt.trim().replace(/\n/g, '\\n')}"` } : {};
  if (layout.compose) {
    special[SIGNING_KEY_ID_PLACEHOLDER] = keys[0]!.kid!;
    const sentryKey = (values[SENTRY_TOKEN_KEY_VALUE] ??= newSentryTokenKey());
    // Single-quoted: Compose's env-file reader takes the JSON as it is.
    special.SENTRY_JWKS = `'${sentryJwks(sentryKey)}'`;
    for (const appId of ['gateway', ...Object.keys(ENDPOINTS)]) {
      special[sentryTokenVariable(appId)] = signSentryToken(sentryKey, sidecarSpiffeId(appId, DAPR_NAMESPACE));
    }
    special.SCHEDULER_SENTRY_TOKEN = signSentryToken(sentryKey, SCHEDULER_SPIFFE_ID);
  }

  const written: string[] = [];
  for (const template of layout.templates) {
    const output = template.slice(0, -'.example'.length);
    const text = readFileSync(template, 'utf8').replace(
      PLACEHOLDER,
      (_match, name: string) => special[name] ?? (values[name] ??= newSecret()),
    );
    writePrivateFile(output, text);
    written.push(output);
  }
  writePrivateFile(layout.valuesFile, `${JSON.stringify(values, null, 2)}\n`);

  const policy = path.join(layout.generatedDir, 'jwt-auth.yaml');
  writePrivateFile(policy, renderPolicyComponent(publicJwks(keys)));
  written.push(policy);
  if (layout.compose) {
    const keysDir = path.join(layout.generatedDir, 'keys');
    const keysFile = path.join(keysDir, `${keys[0]!.kid}.json`);
    writePrivateFile(keysFile, JSON.stringify({ [KEY_STORE.secret]: { [KEY_STORE.key]: JSON.stringify(keys) } }));
    // Only the current file: dapr-init copies what is there, and an older one holds a retired key.
    for (const stale of readdirSync(keysDir).filter((name) => name !== path.basename(keysFile))) rmSync(path.join(keysDir, stale));
    rmSync(path.join(layout.generatedDir, 'signing-keys.json'), { force: true });
    const keyStore = path.join(layout.generatedDir, `${KEY_STORE.component}.yaml`);
    // The path inside the sidecar's container, where compose puts this folder's copy.
    writePrivateFile(keyStore, renderKeyStoreComponent({ name: 'secretsFile', envRef: 'AUTH_KEYS_FILE' }));
    written.push(keysFile, keyStore);
    for (const [name, content] of [
      ['ca.crt', bundle!.caCrt],
      ['issuer.crt', bundle!.issuerCrt],
      ['issuer.key', bundle!.issuerKey],
    ] as const) {
      const file = path.join(layout.generatedDir, 'sentry', name);
      writePrivateFile(file, content);
      written.push(file);
    }
  }
  return written;
}
