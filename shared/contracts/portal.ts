import * as z from 'zod';
import { APPLICATION_STATUSES } from '../domain/lifecycle.js';
import { ArcNumber, SubscriberCode } from './holder.js';
import { FeeBody, MailingAddress } from './station.js';

/**
 * The wire contract of the holder's order: log in with ARC number + subscriber code, look at the order,
 * start the payment at the gateway, and the gateway's signed callback. Shapes only; the rules (the
 * e-invoice carrier formats, the address) are checked by the use case with the field named.
 */

const Iso = z.string().describe('ISO-8601 date-time (UTC)');

export const SessionRequest = z.object({ arcNumber: ArcNumber, subscriberCode: SubscriberCode }).strict();
export type SessionRequest = z.infer<typeof SessionRequest>;

export const SessionResponse = z.object({
  /** Bearer token for `Authorization: Bearer …`; only its sha256 is stored. */
  token: z.string(),
  expiresAt: Iso,
  applicationId: z.string(),
});
export type SessionResponse = z.infer<typeof SessionResponse>;

/** E-invoice buyer data: one of the four kinds the Taiwan e-invoice system accepts. */
export const EInvoiceBody = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('mobile_barcode'), carrier: z.string().max(8) }).strict(),
    z.object({ kind: z.literal('citizen_certificate'), carrier: z.string().max(16) }).strict(),
    z.object({ kind: z.literal('donation'), donationCode: z.string().max(7) }).strict(),
    z
      .object({ kind: z.literal('company'), taxId: z.string().max(8), title: z.string().max(60).optional() })
      .strict(),
  ],
  { error: 'must have kind mobile_barcode, citizen_certificate, donation or company' },
);
export type EInvoiceBody = z.infer<typeof EInvoiceBody>;

export const PaymentRequest = z.object({ mailingAddress: MailingAddress, invoice: EInvoiceBody }).strict();
export type PaymentRequest = z.infer<typeof PaymentRequest>;

export const CheckoutFormBody = z.object({
  /** Where the browser POSTs the fields (the gateway's checkout page; locally the sandbox). */
  action: z.string(),
  method: z.literal('POST'),
  fields: z.record(z.string(), z.string()),
});

export const PaymentResponse = z.object({
  applicationId: z.string(),
  merchantTradeNo: z.string(),
  amount: z.number().int(),
  gateway: z.string(),
  checkout: CheckoutFormBody,
});
export type PaymentResponse = z.infer<typeof PaymentResponse>;

export const OrderResponse = z.object({
  applicationId: z.string(),
  status: z.enum(APPLICATION_STATUSES),
  name: z.string(),
  /** e.g. `a***@example.com`: enough to recognise, not to harvest. */
  emailMasked: z.string(),
  fee: FeeBody,
  paymentDeadline: Iso,
  /** True while the order can still be paid (awaiting payment and before the deadline). */
  paymentOpen: z.boolean(),
  mailingAddress: MailingAddress,
  invoice: EInvoiceBody.optional(),
  payment: z.object({ amount: z.number().int(), paidAt: Iso, merchantTradeNo: z.string() }).optional(),
  cardNumber: z.string().optional(),
  trackingNumber: z.string().optional(),
  mailedAt: Iso.optional(),
});
export type OrderResponse = z.infer<typeof OrderResponse>;

/** The gateway's server-to-server callback: a urlencoded form of text fields, verified by its MAC. */
export const PaymentCallbackBody = z.record(z.string().max(64), z.string().max(2000));
export type PaymentCallbackBody = z.infer<typeof PaymentCallbackBody>;

export { FeeBody, MailingAddress };
