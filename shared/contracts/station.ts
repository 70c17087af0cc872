import * as z from 'zod';
import { APPLICATION_STATUSES } from '../domain/lifecycle.js';

/**
 * The wire contract of the station counter: a counter application, its status and its cancellation.
 * Shapes only (types, lengths); the rules (ARC check digit, ARC still valid, 18 or older, a deliverable
 * address) are the domain's and are checked by the use case, which names the field and the rule.
 */

const Iso = z.string().describe('ISO-8601 date-time (UTC)');
const CalendarDate = z.string().max(10, 'must be a date written YYYY-MM-DD').describe('YYYY-MM-DD');

export const MailingAddress = z
  .object({
    postalCode: z.string().max(6, 'must be a 3, 5 or 6 digit postal code').describe('3, 5 or 6 digits'),
    city: z.string().max(40, 'must be at most 40 characters').describe('city / county and district'),
    line1: z.string().max(120, 'must be at most 120 characters'),
    line2: z.string().max(120, 'must be at most 120 characters').optional(),
    recipient: z.string().max(80, 'must be at most 80 characters').optional(),
    phone: z.string().max(20, 'must be at most 20 characters').optional(),
  })
  .strict();
export type MailingAddressBody = z.infer<typeof MailingAddress>;

export const CounterApplicationRequest = z
  .object({
    arcNumber: z.string().max(20, 'must be the 10-character ARC number').describe('ARC (UI) number'),
    arcExpiry: CalendarDate.describe('expiry date printed on the ARC, YYYY-MM-DD'),
    name: z.string().max(100, 'must be at most 100 characters').describe('name as on the ARC'),
    dateOfBirth: CalendarDate,
    email: z.string().max(254, 'must be at most 254 characters'),
    mailingAddress: MailingAddress,
  })
  .strict();
export type CounterApplicationRequest = z.infer<typeof CounterApplicationRequest>;

export const FeeBody = z.object({
  currency: z.literal('TWD'),
  items: z.array(
    z.object({ code: z.enum(['card', 'postage']), label: z.string(), amount: z.number().int() }),
  ),
  total: z.number().int(),
});

export const IntakeWarning = z.object({
  code: z.enum(['live_card']),
  message: z.string(),
  cardNumber: z.string().optional(),
});

export const CounterApplicationResponse = z.object({
  applicationId: z.string(),
  status: z.literal('awaiting_payment'),
  /** Shown ONCE, here: print it for the holder. It cannot be read back afterwards. */
  subscriberCode: z.string(),
  paymentDeadline: Iso.describe('23:59:59 Taipei on the 15th day after the application day'),
  fee: FeeBody,
  arcLast4: z.string(),
  replacesCardNumber: z.string().optional(),
  warnings: z.array(IntakeWarning),
  applicationForm: z.object({
    contentType: z.literal('application/pdf'),
    filename: z.string(),
    base64: z.string(),
  }),
});
export type CounterApplicationResponse = z.infer<typeof CounterApplicationResponse>;

export const ApplicationPathParams = z
  .object({ id: z.string().regex(/^[A-Za-z0-9_-]{6,64}$/, 'must be an application id') })
  .strict();

export const ApplicationStatusResponse = z.object({
  applicationId: z.string(),
  status: z.enum(APPLICATION_STATUSES),
  stationId: z.string(),
  createdAt: Iso,
  /** Absent once the application is a tombstone (cancelled / purged: no personal data left). */
  name: z.string().optional(),
  arcLast4: z.string().optional(),
  paymentDeadline: Iso.optional(),
  fee: FeeBody.optional(),
  paidAt: Iso.optional(),
  cardNumber: z.string().optional(),
  trackingNumber: z.string().optional(),
  replacesCardNumber: z.string().optional(),
  endedAt: Iso.optional(),
});
export type ApplicationStatusResponse = z.infer<typeof ApplicationStatusResponse>;
