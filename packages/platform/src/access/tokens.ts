import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '@caregrid/contracts';
import { outsideRequest } from '../context.js';
import type { Sidecar } from '../dapr/sidecar.js';
import { DependencyUnavailableError } from '../errors.js';

/** The app that signs access tokens, and where it publishes its public keys (current and previous). */
export const TOKEN_SIGNER = { appId: 'auth-service', keySetPath: '/.well-known/jwks.json' } as const;

/** The claims of a verified access token that say who the user is (auth-service's signAccessToken). */
export type TokenClaims = { sub: string; roles: string[]; patientId?: string; doctorId?: string; emailVerified?: boolean };

const tokenClaims = z.object({
  sub: z.string().min(1),
  roles: z.array(z.string()),
  patientId: z.string().min(1).optional(),
  doctorId: z.string().min(1).optional(),
  emailVerified: z.boolean().optional(),
});

/** Where the public key set comes from: auth-service's published set, or (in auth-service) its own key ring. */
export type KeySetSource = () => Promise<JSONWebKeySet>;

export type TokenVerifierOptions = {
  /** A key set older than this is fetched again before the next verification (a dropped key stops counting). */
  maxAgeMs?: number;
  /**
   * The least time between two fetches. A token naming a key the set lacks (a rotation) fetches
   * it again, waiting out the rest of this first: the signer may have published the key just
   * after our last fetch, and a flood of made-up key ids costs one fetch per interval.
   */
  refetchCooldownMs?: number;
  /** Verified tokens remembered (until their expiry), so a client's next requests skip the signature check. */
  cacheSize?: number;
  clock?: () => number;
};

type KeySet = { getKey: JWTVerifyGetKey; kids: Set<string | undefined>; fetchedAt: number };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Verifies the bearer tokens the gateway forwards: ES256, signed by a key of
 * auth-service's set (every key in it: a rotation keeps the previous one),
 * our issuer and audience, not expired. The key set is fetched once and kept;
 * verified tokens are remembered until they expire (or their key leaves the
 * set), so a request costs a map lookup once its token was seen.
 */
export class TokenVerifier {
  private keys?: KeySet;
  private fetching?: Promise<KeySet>;
  private lastFetchAt = -Infinity;
  private readonly verified = new Map<string, { claims: TokenClaims; kid?: string; expiresAtMs: number }>();
  private readonly maxAgeMs: number;
  private readonly refetchCooldownMs: number;
  private readonly cacheSize: number;
  private readonly clock: () => number;

  constructor(
    private readonly source: KeySetSource,
    options: TokenVerifierOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? 5 * 60_000;
    this.refetchCooldownMs = options.refetchCooldownMs ?? 1_000;
    this.cacheSize = options.cacheSize ?? 1_000;
    this.clock = options.clock ?? Date.now;
  }

  /** The token's claims, or undefined when it is not a valid access token. Throws DependencyUnavailableError when no key set can be had. */
  async claimsOf(token: string): Promise<TokenClaims | undefined> {
    let keys = await this.keySet();
    const remembered = this.verified.get(token);
    if (remembered) {
      if (remembered.expiresAtMs > this.clock() && keys.kids.has(remembered.kid)) return remembered.claims;
      this.verified.delete(token);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const { payload, protectedHeader } = await jwtVerify(token, keys.getKey, {
          issuer: TOKEN_ISSUER,
          audience: TOKEN_AUDIENCE,
          algorithms: ['ES256'],
          requiredClaims: ['exp', 'sub'],
          currentDate: new Date(this.clock()),
        });
        const claims = tokenClaims.safeParse(payload);
        if (!claims.success) return undefined;
        this.remember(token, { claims: claims.data, kid: protectedHeader.kid, expiresAtMs: payload.exp! * 1000 });
        return claims.data;
      } catch (error) {
        // A key newer than our copy of the set (a rotation): fetch the set once more.
        if (attempt === 1 && error instanceof errors.JWKSNoMatchingKey) {
          const wait = this.lastFetchAt + this.refetchCooldownMs - this.clock();
          if (wait > 0) await sleep(wait);
          keys = await this.fetch();
          continue;
        }
        if (error instanceof errors.JOSEError) return undefined;
        throw error;
      }
    }
  }

  private remember(token: string, entry: { claims: TokenClaims; kid?: string; expiresAtMs: number }): void {
    if (this.verified.size >= this.cacheSize) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, entry);
  }

  private async keySet(): Promise<KeySet> {
    if (!this.keys) return this.fetch();
    const now = this.clock();
    if (now - this.keys.fetchedAt >= this.maxAgeMs && now - this.lastFetchAt >= this.refetchCooldownMs) {
      // A stale set still verifies while auth-service cannot be reached: its keys were valid minutes ago.
      return this.fetch().catch(() => this.keys!);
    }
    return this.keys;
  }

  private fetch(): Promise<KeySet> {
    this.fetching ??= (async () => {
      this.lastFetchAt = this.clock();
      try {
        const set = await this.source();
        this.keys = { getKey: createLocalJWKSet(set), kids: new Set(set.keys.map((key) => key.kid)), fetchedAt: this.clock() };
        return this.keys;
      } catch (error) {
        throw error instanceof DependencyUnavailableError ? error : new DependencyUnavailableError('the token signing key set', error);
      } finally {
        this.fetching = undefined;
      }
    })();
    return this.fetching;
  }
}

/** The bearer token of an Authorization header, if it carries one. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = authorization ? /^Bearer +(\S+)\s*$/i.exec(authorization) : null;
  return match?.[1];
}

/** auth-service's published key set, asked through this service's own sidecar (service invocation by app-id). */
export function signerKeySet(sidecar: Pick<Sidecar, 'invoke'>): KeySetSource {
  return async () => {
    const answer = await outsideRequest(() => sidecar.invoke<JSONWebKeySet>(TOKEN_SIGNER.appId, 'GET', TOKEN_SIGNER.keySetPath));
    if (!answer.ok) throw new DependencyUnavailableError(`${TOKEN_SIGNER.appId}'s key set (HTTP ${answer.status})`, answer.body);
    return answer.body;
  };
}
