import type { z } from 'zod';
import {
  ActivationResponse,
  CardCertificatesResponse,
  CardStateResponse,
  CodeChallengeResponse,
  CodeChangeResponse,
  EmailChangeResponse,
  PinUnblockResponse,
} from '../shared/contracts/holder.js';
import { CertificateQueryResponse } from '../shared/contracts/query.js';

/**
 * The holder portal API as the card client calls it. Every answer is checked against the same contract
 * schemas the server validates with, so a client and a server that drifted apart fail loudly here
 * instead of writing something odd to a card.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly rule?: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface PortalClient {
  readonly baseUrl: string;
  activate(
    cardNumber: string,
    body: { subscriberCode: string; challenge: string },
  ): Promise<ActivationResponse>;
  unblockPin(
    cardNumber: string,
    body: { subscriberCode: string; challenge: string },
  ): Promise<PinUnblockResponse>;
  codeChallenge(cardNumber: string): Promise<CodeChallengeResponse>;
  changeCode(body: {
    cardNumber: string;
    nonce: string;
    signature: string;
    newSubscriberCode: string;
  }): Promise<CodeChangeResponse>;
  suspend(cardNumber: string, subscriberCode: string): Promise<CardStateResponse>;
  resume(cardNumber: string, subscriberCode: string): Promise<CardStateResponse>;
  changeEmail(
    cardNumber: string,
    body: { subscriberCode: string; email: string },
  ): Promise<EmailChangeResponse>;
  /** ARC number + subscriber code → a short-lived holder session token (`POST /v1/portal/sessions`). */
  login(arcNumber: string, subscriberCode: string): Promise<{ token: string; expiresAt: string }>;
  cardCertificates(cardNumber: string, sessionToken: string): Promise<CardCertificatesResponse>;
  /** The public status query by card number. */
  certificateStatus(cardNumber: string): Promise<CertificateQueryResponse>;
}

const SessionAnswer = {
  parse: (v: unknown): { token: string; expiresAt: string } => {
    const o = v as { token?: unknown; expiresAt?: unknown };
    if (typeof o?.token !== 'string' || typeof o.expiresAt !== 'string') {
      throw new ApiError(502, 'bad_response', 'the portal answered a login without a session token');
    }
    return { token: o.token, expiresAt: o.expiresAt };
  },
};

export const createPortalClient = (baseUrl: string, fetchImpl: typeof fetch = fetch): PortalClient => {
  const base = baseUrl.replace(/\/+$/, '');
  const enc = encodeURIComponent;

  const request = async <T>(
    method: string,
    path: string,
    schema: { parse: (v: unknown) => T },
    body?: unknown,
    token?: string,
  ): Promise<T> => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await fetchImpl(`${base}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      throw new ApiError(0, 'unreachable', `cannot reach the portal at ${base}: ${(e as Error).message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ApiError(
        res.status,
        'bad_response',
        `the portal answered ${res.status} with something that is not JSON`,
      );
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: string; message?: string; field?: string; rule?: string } })
        ?.error;
      const retry = res.headers.get('retry-after');
      throw new ApiError(
        res.status,
        e?.code ?? 'http_error',
        e?.message ?? `the portal answered ${res.status}`,
        e?.field,
        e?.rule,
        retry ? Number(retry) : undefined,
      );
    }
    try {
      return schema.parse(json);
    } catch (e) {
      throw new ApiError(
        res.status,
        'bad_response',
        `unexpected answer from ${path}: ${(e as z.ZodError).message}`,
      );
    }
  };

  return {
    baseUrl: base,
    activate: (n, body) => request('POST', `/v1/portal/cards/${enc(n)}/activation`, ActivationResponse, body),
    unblockPin: (n, body) =>
      request('POST', `/v1/portal/cards/${enc(n)}/pin-unblock`, PinUnblockResponse, body),
    codeChallenge: (n) =>
      request('POST', '/v1/portal/subscriber-code/challenge', CodeChallengeResponse, { cardNumber: n }),
    changeCode: (body) => request('PUT', '/v1/portal/subscriber-code', CodeChangeResponse, body),
    suspend: (n, subscriberCode) =>
      request('POST', `/v1/portal/cards/${enc(n)}/suspension`, CardStateResponse, { subscriberCode }),
    resume: (n, subscriberCode) =>
      request('POST', `/v1/portal/cards/${enc(n)}/resumption`, CardStateResponse, { subscriberCode }),
    changeEmail: (n, body) => request('PUT', `/v1/portal/cards/${enc(n)}/email`, EmailChangeResponse, body),
    login: (arcNumber, subscriberCode) =>
      request('POST', '/v1/portal/sessions', SessionAnswer, { arcNumber, subscriberCode }),
    cardCertificates: (n, token) =>
      request('GET', `/v1/portal/cards/${enc(n)}/certificates`, CardCertificatesResponse, undefined, token),
    certificateStatus: (n) =>
      request('GET', `/v1/certificates?cardNumber=${enc(n)}`, CertificateQueryResponse),
  };
};
