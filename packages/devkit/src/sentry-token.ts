import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TRUST_DOMAIN } from '@caregrid/platform';
import { readInfraEnv } from './paths.js';

/*
 * The tokens Dapr Sentry's jwks validator (infra/sentry/config.yaml) asks of whoever wants a
 * certificate: a JWT naming the requester's SPIFFE id (sub) and Sentry's (aud), signed with an
 * Ed25519 key whose public half is Sentry's jwks.json. infra/infra.sh generates the local key
 * and mints the scheduler's token the same way (byte for byte: same header, claims and key id).
 */

const publicX = (key: KeyObject): string => createPublicKey(key).export({ format: 'jwk' }).x!;
/** The key's id: the first 16 characters of its public key, as infra/infra.sh names it. */
const keyId = (key: KeyObject): string => publicX(key).slice(0, 16);

/** A new token signing key (PKCS#8 PEM). */
export const newSentryTokenKey = (): string =>
  generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

/** The public JWKS of a signing key: all Sentry's jwks validator gets of it. */
export function sentryJwks(signingKey: string): string {
  const key = createPrivateKey(signingKey);
  return JSON.stringify({ keys: [{ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: keyId(key), x: publicX(key) }] });
}

/** A new signing key (`signing-key.pem`, owner-only) and its public `jwks.json`, the file Sentry reads, in `dir`. */
export function generateSentryTokenKey(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const signingKey = newSentryTokenKey();
  const keyFile = path.join(dir, 'signing-key.pem');
  writeFileSync(keyFile, signingKey, { mode: 0o600 });
  writeFileSync(path.join(dir, 'jwks.json'), `${sentryJwks(signingKey)}\n`);
  return keyFile;
}

/** The SPIFFE id Sentry expects a self-hosted sidecar to name: daprd asks for no trust domain, Sentry's default is Dapr's `public`. */
export const sidecarSpiffeId = (appId: string, namespace: string): string => `spiffe://${TRUST_DOMAIN}/ns/${namespace}/${appId}`;
/** The scheduler's: control-plane trust domain `localhost`, namespace `default` (it runs without NAMESPACE). */
export const SCHEDULER_SPIFFE_ID = 'spiffe://localhost/ns/default/dapr-scheduler';

/** A token for `subject` only, signed with `signingKey` (PEM). */
export function signSentryToken(signingKey: string, subject: string): string {
  const key = createPrivateKey(signingKey);
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${part({ alg: 'EdDSA', typ: 'JWT', kid: keyId(key) })}.${part({ aud: readInfraEnv().CAREGRID_SENTRY_AUDIENCE, sub: subject })}`;
  return `${signed}.${sign(null, Buffer.from(signed), key).toString('base64url')}`;
}

/** A token for `subject` only, signed with the key in `signingKeyFile`. */
export const mintSentryToken = (signingKeyFile: string, subject: string): string =>
  signSentryToken(readFileSync(signingKeyFile, 'utf8'), subject);

/**
 * The token file of one sidecar (daprd's DAPR_SENTRY_TOKEN_FILE, which it reads again at every
 * renewal): minted for its app-id and namespace into `tokens/` beside the signing key, owner-only.
 */
export function sentryTokenFile(signingKeyFile: string, appId: string, namespace: string): string {
  const file = path.join(path.dirname(signingKeyFile), 'tokens', `${namespace}.${appId}.jwt`);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // Written whole, then renamed: another sidecar of the same app may be reading it.
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, mintSentryToken(signingKeyFile, sidecarSpiffeId(appId, namespace)), { mode: 0o600 });
  renameSync(temporary, file);
  return file;
}

/**
 * The Dapr CLI's sidecars' tokens (`dapr run -f dapr`): `<app folder>/.dapr/sentry-token` each,
 * owner-only. The CLI starts each daprd in its app's folder and gives it only the exported
 * environment, so one export, DAPR_SENTRY_TOKEN_FILE=.dapr/sentry-token, names each its own.
 */
export const CLI_SENTRY_TOKEN_FILE = '.dapr/sentry-token';
export function writeCliSentryTokens(apps: { appId: string; appDir: string }[], signingKeyFile: string, namespace: string): void {
  for (const app of apps) {
    const file = path.join(app.appDir, CLI_SENTRY_TOKEN_FILE);
    mkdirSync(path.dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, mintSentryToken(signingKeyFile, sidecarSpiffeId(app.appId, namespace)), { mode: 0o600 });
    renameSync(temporary, file);
  }
}
