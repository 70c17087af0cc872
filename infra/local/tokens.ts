import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { AuthenticationError, ValidationError } from '../../shared/errors.js';

/**
 * The local token issuer: stands in for the OIDC provider (Cognito or the ministry's IdP) that API
 * Gateway's JWT authorizer trusts in AWS. It signs ES256 JWTs for officers, ops and card stations with a
 * key kept in the local state folder, and verifies them for the local server exactly as the
 * authorizer would (signature, issuer, audience, expiry).
 */
export const LOCAL_ISSUER = 'urn:acdc:local-idp';
export const API_AUDIENCE = 'acdc-api';

export type TokenRole = 'officer' | 'ops' | 'card-station';

export interface LocalIssuer {
  issue(
    role: TokenRole,
    subject: string,
    opts?: { stationId?: string; ttlSeconds?: number },
  ): Promise<string>;
  verify(token: string): Promise<JWTPayload>;
  jwks(): { keys: JWK[] };
}

const TTL: Record<TokenRole, number> = { officer: 8 * 3600, ops: 8 * 3600, 'card-station': 24 * 3600 };

export const openLocalIssuer = async (
  keyFile: string,
  now: () => Date = () => new Date(),
): Promise<LocalIssuer> => {
  let privateJwk: JWK;
  try {
    privateJwk = JSON.parse(await readFile(keyFile, 'utf8')) as JWK;
  } catch {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    privateJwk = { ...(await exportJWK(privateKey)), kid: `local-${Date.now().toString(36)}`, alg: 'ES256' };
    await mkdir(dirname(keyFile), { recursive: true });
    await writeFile(keyFile, JSON.stringify(privateJwk), { mode: 0o600 });
  }
  const { d: _d, ...publicJwk } = privateJwk;
  const privateKey = await importJWK(privateJwk, 'ES256');
  const publicKey = await importJWK(publicJwk, 'ES256');
  const kid = privateJwk.kid!;

  return {
    async issue(role, subject, opts = {}) {
      if (!/^[A-Za-z0-9._@-]{1,64}$/.test(subject)) {
        throw new ValidationError('subject', 'token.subject', 'must be 1–64 letters, digits or ._@-');
      }
      if (role === 'officer' && !/^[A-Z0-9]{2,10}$/.test(opts.stationId ?? '')) {
        throw new ValidationError('station', 'token.station', 'an officer token needs --station, e.g. TPE01');
      }
      const iat = Math.floor(now().getTime() / 1000);
      const claims: JWTPayload = { role, ...(role === 'officer' ? { station_id: opts.stationId } : {}) };
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid })
        .setIssuer(LOCAL_ISSUER)
        .setAudience(API_AUDIENCE)
        .setSubject(subject)
        .setIssuedAt(iat)
        .setExpirationTime(iat + (opts.ttlSeconds ?? TTL[role]))
        .sign(privateKey);
    },
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, publicKey, {
          issuer: LOCAL_ISSUER,
          audience: API_AUDIENCE,
          currentDate: now(),
        });
        return payload;
      } catch {
        throw new AuthenticationError('the bearer token is invalid or expired');
      }
    },
    jwks: () => ({ keys: [{ ...publicJwk, use: 'sig' }] }),
  };
};
