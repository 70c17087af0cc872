import * as z from 'zod';
import { PaymentCallbackBody } from '../../shared/contracts/portal.js';
import { route } from '../http/spec.js';

/** The payment gateway's signed server-to-server callback (ECPay ReturnURL style, form POST). */
export const paymentRoutes = [
  route({
    id: 'payments.callback',
    method: 'POST',
    path: '/v1/payments/callback',
    auth: 'gateway',
    fn: 'payments',
    summary:
      'Signed payment result from the gateway (CheckMacValue, SHA-256). Verified in constant time; a forged or changed callback is 401 and changes nothing. Idempotent: duplicates get the same `1|OK` and record nothing twice. A real payment that cannot pay an open order (after the purge, twice, wrong amount) is recorded for refund and ops are told.',
    bodyKind: 'form',
    body: PaymentCallbackBody,
    responses: {
      200: { description: 'Acknowledged', contentType: 'text/plain', schema: z.literal('1|OK') },
      400: { description: 'A signed callback with a malformed field' },
      401: { description: 'The signature does not verify' },
      503: { description: 'Our side could not record it now; the gateway retries' },
    },
  }),
] as const;
