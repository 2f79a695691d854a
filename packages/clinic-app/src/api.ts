/**
 * The native JSON API through the gateway (same origin, so no CORS) and the
 * session. The access token lives only in memory: a script injected into the
 * page would be the only thing able to read it, and the CSP forbids those. The
 * refresh token lives in sessionStorage: the auth API takes it in the request
 * body (no cookie flow to lean on), and sessionStorage keeps the session across
 * a reload of this tab but not across tabs or after the tab closes; each refresh
 * token works once (rotating), so a copied one is worth one refresh at most.
 */
import { PASSWORD_CHANGE_REQUIRED } from '@caregrid/contracts/vocabulary';
import { IntentKeys } from './intent-keys.js';
import { describeProblem, refreshDelayMs, type Problem } from './format.js';

import type { Role } from './routes.js';

export type { Role };
export type Me = {
  id: string;
  name: string;
  email: string;
  roles: Role[];
  patientId: string | null;
  doctorId: string | null;
  /** False for a self-registered account until it follows its mailed link (it may not book). */
  emailVerified: boolean;
};
type Tokens = { accessToken: string; refreshToken: string; expiresIn: number; deviceToken?: string };

const REFRESH_KEY = 'caregrid.refreshToken';
const DEVICE_KEY = 'caregrid.deviceToken';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
  ) {
    super(describeProblem(status, problem));
  }
}

let accessToken: string | undefined;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let refreshing: Promise<boolean> | undefined;
let onSignedOut: () => void = () => {};

export function whenSignedOut(listener: () => void): void {
  onSignedOut = listener;
}

async function parse(response: Response): Promise<unknown> {
  const type = response.headers.get('content-type') ?? '';
  if (response.status === 204) return undefined;
  if (type.includes('json')) return response.json();
  return response.text();
}

async function raw(method: string, path: string, body?: unknown, token = accessToken, idempotencyKey?: string): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  if (token) headers.authorization = `Bearer ${token}`;
  try {
    return await fetch(`/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { detail: 'Cannot reach CareGrid: check your connection and try again.' });
  }
}

function keep(tokens: Tokens): void {
  accessToken = tokens.accessToken;
  sessionStorage.setItem(REFRESH_KEY, tokens.refreshToken);
  if (tokens.deviceToken) localStorage.setItem(DEVICE_KEY, tokens.deviceToken);
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => void refresh(), refreshDelayMs(tokens.expiresIn));
}

function forget(): void {
  accessToken = undefined;
  clearTimeout(refreshTimer);
  sessionStorage.removeItem(REFRESH_KEY);
}

/** Trades the stored refresh token for a new pair; one at a time (each refresh token works once). */
export function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    if (!refreshToken) return false;
    const response = await raw('POST', '/auth/refresh', { refreshToken }, undefined).catch(() => undefined);
    if (!response?.ok) {
      if (response && response.status < 500) forget();
      return false;
    }
    keep((await response.json()) as Tokens);
    return true;
  })().finally(() => (refreshing = undefined));
  return refreshing;
}

const intentKeys = new IntentKeys();

/**
 * A JSON call; a 401 refreshes once and retries, then signs out. Problems become ApiError.
 * `idempotent`: the write carries an Idempotency-Key, the same while its answer is not definite.
 */
export async function api<T>(method: string, path: string, body?: unknown, options: { idempotent?: boolean } = {}): Promise<T> {
  const keyed = options.idempotent ? intentKeys.keyFor(method, path, body) : undefined;
  let response: Response;
  try {
    response = await raw(method, path, body, accessToken, keyed?.key);
    if (response.status === 401 && (await refresh())) response = await raw(method, path, body, accessToken, keyed?.key);
  } catch (error) {
    // No answer: the key stays, so pressing the button again is the same request.
    if (keyed) intentKeys.settle(keyed.intent, 0);
    throw error;
  }
  if (keyed) intentKeys.settle(keyed.intent, response.status);
  if (response.status === 401) {
    forget();
    onSignedOut();
  }
  const content = await parse(response);
  if (!response.ok) throw new ApiError(response.status, typeof content === 'object' ? (content as Problem) : undefined);
  return content as T;
}

/** A file (the invoice PDF), saved through a temporary link: the API needs the bearer token a plain link cannot carry. */
export async function download(path: string, fallbackName: string): Promise<string> {
  let response = await raw('GET', path);
  if (response.status === 401 && (await refresh())) response = await raw('GET', path);
  if (!response.ok) throw new ApiError(response.status, (await parse(response)) as Problem | undefined);
  const name = /filename="?([^";]+)"?/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}

/** A route whose answer is a new session (sign-in, password change): kept, and the account read. */
async function startSession(path: string, body: Record<string, string>): Promise<Me> {
  const deviceToken = localStorage.getItem(DEVICE_KEY) ?? undefined;
  const response = await raw('POST', path, { ...body, ...(deviceToken ? { deviceToken } : {}) }, undefined);
  const content = await parse(response);
  if (!response.ok) throw new ApiError(response.status, content as Problem);
  keep(content as Tokens);
  return api<Me>('GET', '/auth/me');
}

export const signIn = (email: string, password: string) => startSession('/auth/login', { email, password });

/** Sign-in answered this when the password is right but someone else (an admin) set it: no session until the owner chooses one. */
const PASSWORD_CHANGE_REQUIRED_TYPE = `urn:caregrid:problem:${PASSWORD_CHANGE_REQUIRED}`;
export const isPasswordChangeRequired = (error: unknown) =>
  error instanceof ApiError && error.problem?.type === PASSWORD_CHANGE_REQUIRED_TYPE;

/** Replaces the password, proving the current one; the answer is a new session (every other one ends). */
export const changePassword = (email: string, currentPassword: string, newPassword: string) =>
  startSession('/auth/password', { email, currentPassword, newPassword });

/** The session this tab had (after a reload), through the refresh token; undefined when none is left. */
export async function resume(): Promise<Me | undefined> {
  if (!(await refresh())) return undefined;
  return api<Me>('GET', '/auth/me').catch(() => undefined);
}

export async function signOut(): Promise<void> {
  const refreshToken = sessionStorage.getItem(REFRESH_KEY);
  forget();
  if (refreshToken) await raw('POST', '/auth/logout', { refreshToken }, undefined).catch(() => undefined);
}

/** What the account-mail routes answer when they accept a request (the same whatever the address). */
export type Accepted = { status: 'accepted'; detail: string };

/** A new confirmation link for the signed-in account (earlier ones stop working). */
export const resendVerification = () => api<Accepted>('POST', '/auth/verify-email/resend');
