import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { JWK } from 'jose';
import { repoRoot } from './paths.js';
import { writePrivateFile } from './provision.js';
import { generateSigningKey, KEY_STORE, publicJwks, renderKeyStoreComponent, renderPolicyComponent } from './policy.js';

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
 *   and the keys file.
 * - a Kubernetes overlay folder (e.g. `k8s/overlays/dev`): `secrets/*.example` →
 *   `secrets/*` (read by the overlay's secretGenerator); `generated/jwt-auth.yaml`.
 */
export const SIGNING_KEYS_PLACEHOLDER = 'SIGNING_KEYS';
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

  const written: string[] = [];
  for (const template of layout.templates) {
    const output = template.slice(0, -'.example'.length);
    const text = readFileSync(template, 'utf8').replace(PLACEHOLDER, (_match, name: string) => (values[name] ??= newSecret()));
    writePrivateFile(output, text);
    written.push(output);
  }
  writePrivateFile(layout.valuesFile, `${JSON.stringify(values, null, 2)}\n`);

  const policy = path.join(layout.generatedDir, 'jwt-auth.yaml');
  writePrivateFile(policy, renderPolicyComponent(publicJwks(keys)));
  written.push(policy);
  if (layout.compose) {
    const keysFile = path.join(layout.generatedDir, 'signing-keys.json');
    writePrivateFile(keysFile, JSON.stringify({ [KEY_STORE.secret]: { [KEY_STORE.key]: JSON.stringify(keys) } }));
    const keyStore = path.join(layout.generatedDir, `${KEY_STORE.component}.yaml`);
    // The path inside the sidecar's container, where compose puts this folder's copy.
    writePrivateFile(keyStore, renderKeyStoreComponent({ name: 'secretsFile', envRef: 'AUTH_KEYS_FILE' }));
    written.push(keysFile, keyStore);
  }
  return written;
}
