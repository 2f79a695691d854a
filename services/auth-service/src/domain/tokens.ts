import { createHash, randomBytes } from 'node:crypto';
import { importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { z } from 'zod';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '@caregrid/contracts';
import type { User } from './users.js';

export const ACCESS_TOKEN_SECONDS = 15 * 60;
export const REFRESH_TOKEN_SECONDS = 7 * 24 * 60 * 60;
/** How long a client that signed in stays a known device (throttled on its own counter). */
export const DEVICE_TOKEN_SECONDS = 180 * 24 * 60 * 60;

const privateJwk = z.looseObject({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: z.string(),
  y: z.string(),
  d: z.string(),
  kid: z.string().min(1),
});

export type SigningKey = { kid: string; privateKey: CryptoKey | Uint8Array; publicJwk: JWK };

/**
 * Signing keys as kept in the secret store: a JSON array of private ES256
 * JWKs, newest first. The first signs; all are published in the JWKS so
 * tokens signed before a rotation stay valid until they expire.
 */
export async function parseSigningKeys(json: string): Promise<SigningKey[]> {
  const jwks = z.array(privateJwk).min(1).parse(JSON.parse(json));
  return Promise.all(
    jwks.map(async (jwk) => ({
      kid: jwk.kid,
      privateKey: (await importJWK(jwk, 'ES256')) as CryptoKey,
      publicJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid: jwk.kid, alg: 'ES256', use: 'sig' },
    })),
  );
}

export async function signAccessToken(key: SigningKey, user: User, now = new Date()): Promise<string> {
  // emailVerified: the gateway's policy passes it on; an unconfirmed account may not book yet.
  const claims: Record<string, unknown> = { roles: user.roles, emailVerified: user.emailVerified };
  if (user.patientId) claims.patientId = user.patientId;
  if (user.doctorId) claims.doctorId = user.doctorId;
  const issuedAt = Math.floor(now.getTime() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setSubject(user.id)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ACCESS_TOKEN_SECONDS)
    .setJti(randomBytes(12).toString('base64url'))
    .sign(key.privateKey);
}

/** Refresh tokens and device tokens are opaque random strings; only their hash is stored. */
export const newOpaqueToken = () => randomBytes(32).toString('base64url');
export const hashOpaqueToken = (token: string) => createHash('sha256').update(token).digest('hex');
