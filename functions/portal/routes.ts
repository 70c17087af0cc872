import {
  OrderResponse,
  PaymentRequest,
  PaymentResponse,
  SessionRequest,
  SessionResponse,
} from '../../shared/contracts/portal.js';
import { route } from '../http/spec.js';

/**
 * The holder's order: log in with ARC number + subscriber code, see the order, pay. (The card
 * self-service routes are in ./self-service-routes.ts.)
 */
export const portalRoutes = [
  route({
    id: 'portal.createSession',
    method: 'POST',
    path: '/v1/portal/sessions',
    auth: 'public',
    fn: 'portal',
    summary:
      'Log in with the ARC number and the subscriber code: a short-lived bearer token for the order routes. A wrong code counts towards the lock; the 4th wrong try locks the code, and every try after that (the right code too) is 423.',
    body: SessionRequest,
    responses: {
      201: { description: 'Logged in', schema: SessionResponse },
      400: { description: 'A malformed field (named)' },
      401: { description: 'The ARC number or the subscriber code is not right' },
      423: { description: 'The subscriber code is locked (rule subscriber_code.locked)' },
    },
  }),
  route({
    id: 'portal.deleteSession',
    method: 'DELETE',
    path: '/v1/portal/sessions/current',
    auth: 'holder',
    fn: 'portal',
    summary: 'Log out: the session token stops working at once.',
    responses: { 204: { description: 'Logged out' }, 401: { description: 'No valid session' } },
  }),
  route({
    id: 'portal.getOrder',
    method: 'GET',
    path: '/v1/portal/application',
    auth: 'holder',
    fn: 'portal',
    summary:
      'The order of the logged-in holder: status, itemised fee, payment deadline, mailing address, payment, card and registered-mail tracking number. Never the ARC number.',
    responses: {
      200: { description: 'The order', schema: OrderResponse },
      401: { description: 'No valid session' },
      410: { description: 'The order was cancelled or purged' },
    },
  }),
  route({
    id: 'portal.startPayment',
    method: 'POST',
    path: '/v1/portal/payments',
    auth: 'holder',
    fn: 'portal',
    summary:
      'Confirm the mailing address and the e-invoice data and start the card payment: returns the checkout form the browser posts to the payment gateway (locally: the sandbox gateway, no real money). Refused after the deadline or when the order is not awaiting payment.',
    body: PaymentRequest,
    responses: {
      201: { description: 'Payment started', schema: PaymentResponse },
      400: { description: 'A field breaks a rule (named)' },
      401: { description: 'No valid session' },
      409: { description: 'Not awaiting payment, or past the deadline (rule named)' },
      410: { description: 'The order was cancelled or purged' },
    },
  }),
] as const;
