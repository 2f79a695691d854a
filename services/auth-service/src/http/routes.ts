import type { Request } from 'express';
import { z } from 'zod';
import { ROLES } from '@caregrid/contracts';
import { ApiRouter, clientAddressOf, UnauthenticatedError, type Caller } from '@caregrid/platform';
import type { Accounts, KeyRing } from '../accounts.js';
import { loginSchema, registrationSchema, staffUserSchema, userChangeSchema } from '../domain/users.js';

const user = z.object({
  id: z.uuid(),
  name: z.string(),
  email: z.string(),
  roles: z.array(z.enum(ROLES)),
  patientId: z.uuid().nullable(),
  doctorId: z.uuid().nullable(),
  disabled: z.boolean(),
  createdAt: z.iso.datetime(),
});
const tokenPair = z.object({
  accessToken: z.string(),
  refreshToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().int(),
});
// The same answer whether or not the email already has an account (no account enumeration).
const registrationAccepted = z.object({ status: z.literal('accepted'), detail: z.string() });
const REGISTRATION_ACCEPTED = {
  status: 'accepted',
  detail: 'If the address can be registered, the account is ready: sign in.',
} as const;
const signedInAnswer = tokenPair.extend({ deviceToken: z.string() });
const refreshBody = z.strictObject({ refreshToken: z.string().min(1).max(200) });
const jwks = z.object({ keys: z.array(z.record(z.string(), z.string())) });

const problems = {
  400: { description: 'Invalid input' },
  401: { description: 'Not signed in, or invalid credentials / token' },
  403: { description: 'Missing role' },
  409: { description: 'Email (or linked record) already used by another account' },
  429: { description: 'Too many failed attempts (Retry-After says when to try again)' },
};

/**
 * Whose attempts a sign-in counts against: the client address the gateway
 * determined (first in X-Forwarded-For) when the gateway forwarded the call;
 * any other caller by its own name, so a peer cannot pick an address to escape
 * a lock.
 */
function clientAddress(caller: Caller, req: Request): string {
  if (caller.kind === 'service') return `app:${caller.appId}`;
  if (caller.kind === 'sidecar') return 'sidecar';
  return clientAddressOf(caller, req) ?? 'unknown';
}

/** The signed-in user behind a route the access model admits only users to. */
function signedIn(caller: Caller): Extract<Caller, { kind: 'user' }> {
  if (caller.kind !== 'user') throw new UnauthenticatedError('This route needs a signed-in user');
  return caller;
}

export function authRoutes(accounts: Accounts, keys: KeyRing): ApiRouter {
  return ApiRouter.forService('auth-service')
    .add({
      method: 'post',
      path: '/auth/register',
      summary: 'Create a patient account (self-service)',
      tags: ['auth'],
      body: registrationSchema,
      responses: {
        202: { description: 'Accepted; the same for a new and an already registered email: sign in next', schema: registrationAccepted },
        400: problems[400],
      },
      handler: async ({ body, res }) => {
        await accounts.register(body);
        res.status(202).json(REGISTRATION_ACCEPTED);
      },
    })
    .add({
      method: 'post',
      path: '/auth/login',
      summary: "Sign in: an access token (ES256, 15 min), a rotating refresh token, and this client's device token",
      tags: ['auth'],
      body: loginSchema,
      responses: {
        200: { description: 'Signed in; keep deviceToken and send it with the next sign-in from this client', schema: signedInAnswer },
        400: problems[400],
        401: problems[401],
        429: problems[429],
      },
      handler: async ({ body, caller, req, res }) => {
        res.json(await accounts.login(body.email, body.password, clientAddress(caller, req), body.deviceToken));
      },
    })
    .add({
      method: 'post',
      path: '/auth/refresh',
      summary: 'Trade a refresh token for a new pair (each refresh token works once)',
      tags: ['auth'],
      body: refreshBody,
      responses: { 200: { description: 'New tokens', schema: tokenPair }, 400: problems[400], 401: problems[401] },
      handler: async ({ body, res }) => {
        res.json(await accounts.refresh(body.refreshToken));
      },
    })
    .add({
      method: 'post',
      path: '/auth/logout',
      summary: 'Sign out: revokes the refresh token and its whole family',
      tags: ['auth'],
      body: refreshBody,
      responses: { 204: { description: 'Signed out' }, 400: problems[400] },
      handler: async ({ body, res }) => {
        await accounts.logout(body.refreshToken);
        res.status(204).end();
      },
    })
    .add({
      method: 'get',
      path: '/auth/me',
      summary: 'The signed-in account',
      tags: ['auth'],
      responses: { 200: { description: 'The account', schema: user }, 401: problems[401] },
      handler: async ({ caller, res }) => {
        res.json(await accounts.get(signedIn(caller).userId));
      },
    })
    .add({
      method: 'post',
      path: '/auth/users',
      summary: 'Create a staff account with roles (admin only)',
      tags: ['auth'],
      body: staffUserSchema,
      responses: {
        201: { description: 'Created', schema: user },
        400: problems[400],
        401: problems[401],
        403: problems[403],
        409: problems[409],
      },
      handler: async ({ body, res }) => {
        const created = await accounts.createStaff(body);
        res.status(201).location(`/auth/users/${created.id}`).json(created);
      },
    })
    .add({
      method: 'patch',
      path: '/auth/users/:id',
      summary: 'Change roles, disable, or link a patient/doctor record (admin only)',
      tags: ['auth'],
      params: z.object({ id: z.uuid() }),
      body: userChangeSchema,
      responses: {
        200: { description: 'Updated', schema: user },
        400: problems[400],
        401: problems[401],
        403: problems[403],
        404: { description: 'No such account' },
      },
      handler: async ({ params, body, res }) => {
        res.json(await accounts.changeUser(params.id, body));
      },
    })
    .add({
      method: 'get',
      path: '/.well-known/jwks.json',
      summary: 'Public keys that verify access tokens (current and previous)',
      tags: ['auth'],
      responses: { 200: { description: 'JSON Web Key Set', schema: jwks } },
      handler: ({ res }) => {
        res.set('cache-control', 'public, max-age=300').json({ keys: keys.all().map((key) => key.publicJwk) });
      },
    });
}
