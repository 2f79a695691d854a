import type { Request } from 'express';
import { z } from 'zod';
import { accountMailLink, PASSWORD_CHANGE_REQUIRED, ROLES } from '@caregrid/contracts';
import { ApiRouter, authorizeNew, clientAddressOf, UnauthenticatedError, type Caller } from '@caregrid/platform';
import {
  loginSchema,
  newPasswordSchema,
  passwordChangeSchema,
  passwordResetSchema,
  registrationSchema,
  staffUserSchema,
  userChangeSchema,
  verifyEmailSchema,
} from '../domain/users.js';
import type { AccountUseCases } from '../use-cases.js';

const user = z.object({
  id: z.uuid(),
  name: z.string(),
  email: z.string(),
  roles: z.array(z.enum(ROLES)),
  patientId: z.uuid().nullable(),
  doctorId: z.uuid().nullable(),
  disabled: z.boolean(),
  emailVerified: z.boolean(),
  mustChangePassword: z.boolean(),
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
  detail: 'If the address can be registered, we have mailed it a link to confirm it; you may sign in meanwhile.',
} as const;
// The same answer whether or not the address has an account.
const RESET_ACCEPTED = {
  status: 'accepted',
  detail: 'If the address has an account, we have mailed it a link to set a new password.',
} as const;
const RESEND_ACCEPTED = { status: 'accepted', detail: 'A new confirmation link is on its way; earlier links no longer work.' } as const;
const signedInAnswer = tokenPair.extend({ deviceToken: z.string() });
const refreshBody = z.strictObject({ refreshToken: z.string().min(1).max(200) });
const jwks = z.object({ keys: z.array(z.record(z.string(), z.string())) });

const problems = {
  400: { description: 'Invalid input' },
  401: { description: 'Not signed in, or invalid credentials / token' },
  403: { description: 'Missing role' },
  409: { description: 'Email (or linked record) already used by another account' },
  410: { description: 'The link was used, replaced by a newer one, or has expired' },
  422: {
    description:
      'Roles and links contradict each other (type urn:caregrid:problem:roles-contradict-links): a patient or doctor link without its role, or the patient role with a staff role',
  },
  429: { description: 'Too many failed attempts: wait (seconds; Retry-After says how long) and try again' },
};

/**
 * Whose attempts a sign-in or sign-up counts against: the client address the gateway
 * determined (first in X-Forwarded-For) when the gateway forwarded the call;
 * any other caller by its own name, so a peer cannot pick an address to escape
 * a throttle.
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

export function authRoutes(accounts: AccountUseCases): ApiRouter {
  return ApiRouter.forService('auth-service')
    .add({
      method: 'post',
      path: '/auth/register',
      summary: 'Create a patient account (self-service)',
      tags: ['auth'],
      body: registrationSchema,
      responses: {
        202: {
          description:
            'Accepted; the same for a new and an already registered email. A new account is unconfirmed (it may not book) until its mailed link is followed',
          schema: registrationAccepted,
        },
        400: problems[400],
        429: { description: 'Too many sign-ups from this address (Retry-After says when to try again)' },
      },
      handler: async ({ body, caller, req, res }) => {
        await accounts.register(body, clientAddress(caller, req));
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
        403: {
          description: `The password is right but an admin set it (type urn:caregrid:problem:${PASSWORD_CHANGE_REQUIRED}): no tokens; choose your own with POST /auth/password, whose answer signs you in`,
        },
        429: problems[429],
      },
      handler: async ({ body, caller, req, res }) => {
        res.json(await accounts.signIn(body.email, body.password, clientAddress(caller, req), body.deviceToken));
      },
    })
    .add({
      method: 'post',
      path: '/auth/password',
      summary:
        'Change the password, proving the current one (throttled like a sign-in); every other session of the account ends, and this client gets a new one',
      tags: ['auth'],
      body: passwordChangeSchema,
      responses: {
        200: {
          description:
            'Changed and signed in with the new password (the other sessions are revoked); an account an admin created is ready from now on',
          schema: signedInAnswer,
        },
        400: problems[400],
        401: problems[401],
        429: problems[429],
      },
      handler: async ({ body, caller, req, res }) => {
        res.json(await accounts.changePassword(body, clientAddress(caller, req)));
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
        await accounts.signOut(body.refreshToken);
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
        res.json(await accounts.account(signedIn(caller).userId));
      },
    })
    .add({
      method: 'post',
      path: '/auth/users',
      summary:
        'Create an account with roles (admin only); with a password, its owner must change it (POST /auth/password) before signing in; without one, its owner is invited by mail to set one',
      tags: ['auth'],
      body: staffUserSchema,
      responses: {
        201: { description: 'Created', schema: user },
        400: problems[400],
        401: problems[401],
        403: problems[403],
        409: problems[409],
        422: problems[422],
      },
      handler: async ({ body, caller, res }) => {
        authorizeNew(caller, 'account', {});
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
        409: {
          description:
            'The linked record is used by another account, or the change would disable or demote the last active admin (type urn:caregrid:problem:last-admin)',
        },
        422: problems[422],
      },
      handler: async ({ params, body, res }) => {
        res.json(await accounts.changeUser(params.id, body));
      },
    })
    .add({
      method: 'post',
      path: '/auth/verify-email',
      summary: "Confirm the account's email address with the token of the mailed link",
      tags: ['auth'],
      body: verifyEmailSchema,
      responses: { 204: { description: 'Confirmed; a refreshed access token says so' }, 400: problems[400], 410: problems[410] },
      handler: async ({ body, res }) => {
        await accounts.verifyEmail(body.token);
        res.status(204).end();
      },
    })
    .add({
      method: 'post',
      path: '/auth/verify-email/resend',
      summary: 'Mail a new confirmation link to the signed-in, unconfirmed account (earlier links stop working)',
      tags: ['auth'],
      responses: {
        202: { description: 'Accepted (at most one mail a minute)', schema: registrationAccepted },
        401: problems[401],
        409: { description: 'The address is already confirmed' },
      },
      handler: async ({ caller, res }) => {
        await accounts.resendVerification(signedIn(caller).userId);
        res.status(202).json(RESEND_ACCEPTED);
      },
    })
    .add({
      method: 'post',
      path: '/auth/password-reset',
      summary: 'Forgot password: mail a link to set a new one (the same answer whether or not the address has an account)',
      tags: ['auth'],
      body: passwordResetSchema,
      responses: { 202: { description: 'Accepted', schema: registrationAccepted }, 400: problems[400] },
      handler: async ({ body, res }) => {
        await accounts.requestPasswordReset(body.email);
        res.status(202).json(RESET_ACCEPTED);
      },
    })
    .add({
      method: 'post',
      path: '/auth/password-reset/confirm',
      summary: "Set a new password with the reset link's token; every session of the account ends",
      tags: ['auth'],
      body: newPasswordSchema,
      responses: { 204: { description: 'Password set: sign in with it' }, 400: problems[400], 410: problems[410] },
      handler: async ({ body, res }) => {
        await accounts.resetPassword(body.token, body.password);
        res.status(204).end();
      },
    })
    .add({
      method: 'post',
      path: '/auth/invitations/accept',
      summary: "Accept an invitation: set the account's password with the invitation link's token",
      tags: ['auth'],
      body: newPasswordSchema,
      responses: {
        204: { description: 'Password set (and the address confirmed): sign in with it' },
        400: problems[400],
        410: problems[410],
      },
      handler: async ({ body, res }) => {
        await accounts.acceptInvitation(body.token, body.password);
        res.status(204).end();
      },
    })
    .add({
      method: 'post',
      path: '/accounts/mail-requests/:id/link',
      summary: "An account mail's recipient and link, with a token minted now (notification-service only)",
      tags: ['internal'],
      params: z.object({ id: z.uuid() }),
      responses: {
        200: { description: 'Whom to write to and the link (earlier links of this request stop working)', schema: accountMailLink },
        400: problems[400],
        403: { description: 'Not notification-service' },
        404: { description: 'No such request' },
        410: { description: 'The request was used, replaced by a newer one, or has expired: send nothing' },
      },
      handler: async ({ params, res }) => {
        res.json(accountMailLink.parse(await accounts.mailLink(params.id)));
      },
    })
    .add({
      method: 'get',
      path: '/.well-known/jwks.json',
      summary: 'Public keys that verify access tokens (current and previous)',
      tags: ['auth'],
      responses: { 200: { description: 'JSON Web Key Set', schema: jwks } },
      handler: ({ res }) => {
        res.set('cache-control', 'public, max-age=300').json({ keys: accounts.publicKeys() });
      },
    });
}
