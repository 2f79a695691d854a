import { jwtVerify, createLocalJWKSet, decodeProtectedHeader } from 'jose';
import { signingKeysSecret } from '@caregrid/devkit';
import { parseSigningKeys, signAccessToken } from '../../src/domain/tokens.js';
import type { User } from '../../src/domain/users.js';

const user: User = {
  id: '0190f0a0-0000-7000-8000-000000000001',
  name: 'Pat',
  email: 'pat@example.org',
  roles: ['patient'],
  patientId: '0190f0a0-0000-7000-8000-0000000000aa',
  doctorId: null,
  disabled: false,
  emailVerified: true,
  mustChangePassword: false,
  createdAt: '',
};

describe('access tokens', () => {
  it('are ES256 with kid, issuer, audience, 15 minutes, roles and links; verifiable by the published public key only', async () => {
    const [key] = await parseSigningKeys(await signingKeysSecret('k1'));
    expect(key!.publicJwk).not.toHaveProperty('d');
    const token = await signAccessToken(key!, user, new Date());
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', kid: 'k1' });
    const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: [key!.publicJwk] }), {
      issuer: 'caregrid-auth',
      audience: 'caregrid',
    });
    expect(payload).toMatchObject({ sub: user.id, roles: ['patient'], patientId: user.patientId });
    expect(payload).not.toHaveProperty('doctorId');
    expect(payload.exp! - payload.iat!).toBe(900);
  });

  it('refuses key material that is not a private P-256 key with a kid', async () => {
    await expect(parseSigningKeys(JSON.stringify([{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b', kid: 'k' }]))).rejects.toThrow();
    await expect(parseSigningKeys('[]')).rejects.toThrow();
  });
});
