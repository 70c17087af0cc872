import * as z from 'zod';
import { CardStateResponse, SerialNumber } from '../../shared/contracts/holder.js';
import { STATION_REVOCATION_REASONS } from '../../shared/usecases/revocation.js';
import { route } from '../http/spec.js';

export const RevocationRequest = z
  .object({
    reason: z.enum(STATION_REVOCATION_REASONS, {
      error: `must be one of ${STATION_REVOCATION_REASONS.join(', ')} (RFC 5280 CRLReason)`,
    }),
  })
  .strict();

export const RevocationResponse = CardStateResponse.extend({
  /** Serial numbers this request revoked (both certificates of the card, unless a retry finished them). */
  revoked: z.array(SerialNumber),
});

export const revocationRoutes = [
  route({
    id: 'station.revokeCertificate',
    method: 'POST',
    path: '/v1/station/certificates/{serial}/revocation',
    auth: 'officer',
    fn: 'station',
    summary:
      'Revoke at the counter: both certificates of the card the serial belongs to are revoked with the reason given, and the card is revoked for good. A revocation that stopped half-way is finished; a card already fully revoked is a 409.',
    params: z.object({ serial: SerialNumber }).strict(),
    body: RevocationRequest,
    responses: {
      200: { description: 'Revoked', schema: RevocationResponse },
      404: { description: 'No issued certificate with this serial number' },
      409: { description: 'Already revoked (rule certificate.already_revoked), or card busy (card.busy)' },
    },
  }),
] as const;
