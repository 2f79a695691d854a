import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { secretsFile } from './paths.js';

/** The local secret store's file (app-id → key → value), read and written by provisioning and the policy renderer. */
export type SecretsDocument = Record<string, Record<string, string>>;

export function readSecrets(file = secretsFile): SecretsDocument {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as SecretsDocument) : {};
}

/** Atomic write, owner-only permissions: the file holds every local credential. */
export function writeSecrets(secrets: SecretsDocument, file = secretsFile): void {
  writePrivateFile(file, `${JSON.stringify(secrets, null, 2)}\n`);
}

/** Owner-only and atomic (readers never see half a file): for files that hold credentials. */
export function writePrivateFile(file: string, content: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  renameSync(tmp, file);
}
