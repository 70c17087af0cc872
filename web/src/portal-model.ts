/**
 * What the portal shows of the holder's order (`GET /v1/portal/application`), read defensively: the
 * page needs the status, the fee lines, the deadline and, later, the card and the tracking number.
 */

export const ORDER_STEPS = [
  'awaiting_payment',
  'paid',
  'issued',
  'personalized',
  'mailed',
  'activated',
] as const;
export type OrderStep = (typeof ORDER_STEPS)[number];

export interface MailingAddress {
  postalCode: string;
  city: string;
  line1: string;
  line2?: string;
  recipient?: string;
  phone?: string;
}

export type EInvoice =
  | { kind: 'mobile_barcode'; carrier: string }
  | { kind: 'citizen_certificate'; carrier: string }
  | { kind: 'donation'; donationCode: string }
  | { kind: 'company'; taxId: string; title?: string };

export interface FeeLine {
  code: string;
  label?: string;
  amount: number;
}

export interface PortalOrder {
  applicationId: string;
  status: string;
  name?: string;
  createdAt?: string;
  paymentDeadline?: string;
  /** Awaiting payment and before the deadline (the server says; absent = judge by status). */
  paymentOpen?: boolean;
  emailMasked?: string;
  stationId?: string;
  fee: { items: FeeLine[]; total: number };
  mailingAddress?: MailingAddress;
  invoice?: EInvoice;
  paidAt?: string;
  cardNumber?: string;
  cardStatus?: string;
  trackingNumber?: string;
  mailedAt?: string;
  activatedAt?: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const obj = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

export const readOrder = (raw: unknown): PortalOrder => {
  const r = obj(raw) ?? {};
  const a = obj(r.application) ?? r;
  const fee = obj(a.fee) ?? {};
  const items = Array.isArray(fee.items)
    ? (fee.items as unknown[]).flatMap((i) => {
        const o = obj(i);
        return o && typeof o.amount === 'number'
          ? [
              {
                code: String(o.code ?? ''),
                amount: o.amount,
                ...(str(o.label) ? { label: str(o.label) } : {}),
              },
            ]
          : [];
      })
    : [];
  const total = typeof fee.total === 'number' ? fee.total : items.reduce((s, i) => s + i.amount, 0);
  const card = obj(a.card);
  const payment = obj(a.payment);
  const delivery = obj(a.delivery) ?? obj(a.shipment);
  return {
    applicationId: str(a.applicationId) ?? str(a.id) ?? '',
    status: str(a.status) ?? 'unknown',
    name: str(a.name),
    createdAt: str(a.createdAt),
    paymentDeadline: str(a.paymentDeadline),
    ...(typeof a.paymentOpen === 'boolean' ? { paymentOpen: a.paymentOpen } : {}),
    emailMasked: str(a.emailMasked),
    stationId: str(a.stationId),
    fee: { items, total },
    mailingAddress: obj(a.mailingAddress) as MailingAddress | undefined,
    invoice: obj(a.invoice) as EInvoice | undefined,
    paidAt: str(a.paidAt) ?? str(payment?.paidAt),
    cardNumber: str(a.cardNumber) ?? str(card?.cardNumber),
    cardStatus: str(a.cardStatus) ?? str(card?.status),
    trackingNumber: str(a.trackingNumber) ?? str(delivery?.trackingNumber),
    mailedAt: str(a.mailedAt) ?? str(delivery?.mailedAt),
    activatedAt: str(a.activatedAt),
  };
};

/** Days, hours, minutes, seconds until `deadline` (all zero once it has passed). */
export const timeLeft = (deadline: string, now: number) => {
  const ms = Math.max(0, Date.parse(deadline) - now);
  const s = Math.floor(ms / 1000);
  return {
    passed: ms === 0,
    days: Math.floor(s / 86400),
    hours: Math.floor((s % 86400) / 3600),
    minutes: Math.floor((s % 3600) / 60),
    seconds: s % 60,
  };
};
