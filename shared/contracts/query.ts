import * as z from 'zod';

/**
 * The public certificate status query: `GET /v1/certificates?…` with exactly one of
 * `name` + `issuedMonth`, `email`, `cardNumber`, `serialNumber`. Anyone may ask, so the answer says
 * what a relying party needs (status and validity) and nothing about the person: never the ARC number,
 * address, date of birth, e-mail, name or the certificate's subject serial.
 *
 * The query parameters are loose strings here; which combination is allowed and what each must look like
 * is checked by the use case (shared/usecases/query.ts), so the 400 names the rule that was broken.
 */
export const CertificateQueryParams = z
  .object({
    name: z.string().max(200).optional().describe('Holder name as on the card; needs issuedMonth'),
    issuedMonth: z.string().max(7).optional().describe('YYYY-MM (Asia/Taipei) the certificate was issued'),
    email: z.string().max(254).optional().describe('E-mail address written in the certificate'),
    cardNumber: z.string().max(32).optional().describe('IC card number, e.g. AC00000000000123'),
    serialNumber: z.string().max(64).optional().describe('Certificate serial number (hex)'),
  })
  .strict();
export type CertificateQueryParams = z.infer<typeof CertificateQueryParams>;

export const PublicCertificateStatus = z.object({
  serialNumber: z.string(),
  profile: z.enum(['holder-signature', 'holder-encryption']),
  /** What the key is for: `signature` (digitalSignature, nonRepudiation) or `encryption`. */
  usage: z.enum(['signature', 'encryption']),
  status: z.enum(['good', 'hold', 'revoked']),
  notBefore: z.string(),
  notAfter: z.string(),
  /** True once notAfter has passed (status stays what revocation made it). */
  expired: z.boolean(),
  /** Issuing CA: id and distinguished name. */
  issuer: z.object({
    id: z.string(),
    name: z.string().optional().describe('distinguished name of the issuing CA'),
  }),
  /**
   * The card number, masked to its prefix and last four digits (`AC**********0123`), unless the caller
   * asked by card number (then it is echoed, as they already know it).
   */
  cardNumber: z.string(),
  issuedMonth: z.string(),
  holdSince: z.string().optional(),
  revokedAt: z.string().optional(),
  revocationReason: z.string().optional(),
  /** Set when an e-mail change re-issued this certificate: the serial of its successor. */
  supersededBy: z.string().optional(),
});
export type PublicCertificateStatus = z.infer<typeof PublicCertificateStatus>;

export const CertificateQueryResponse = z.object({
  query: z.enum(['nameAndMonth', 'email', 'cardNumber', 'serialNumber']),
  certificates: z.array(PublicCertificateStatus),
  /** True when more certificates matched than one answer carries (narrow the query). */
  truncated: z.boolean(),
});
export type CertificateQueryResponse = z.infer<typeof CertificateQueryResponse>;
