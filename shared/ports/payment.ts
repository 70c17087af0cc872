/** The card-payment gateway (ECPay-style AIO checkout, signed server callback). */
export interface PaymentOrder {
  merchantTradeNo: string; // ≤ 20 alphanumerics, unique per attempt
  amount: number; // integer NT$
  description: string;
  itemName: string;
  createdAt: Date;
  /** Where the gateway posts the signed server-to-server callback. */
  callbackUrl: string;
  /** Where the holder's browser returns after paying. */
  returnUrl: string;
}

/** What the holder's browser must POST to the gateway (an auto-submitting form). */
export interface CheckoutForm {
  action: string;
  fields: Record<string, string>;
}

export interface VerifiedCallback {
  merchantTradeNo: string;
  gatewayTradeNo: string;
  amount: number;
  paid: boolean; // RtnCode = 1 and not a simulated payment
  simulated: boolean;
  paidAt: string;
  method: string;
  raw: Record<string, string>;
}

export interface PaymentGateway {
  readonly name: string;
  checkout(order: PaymentOrder): CheckoutForm;
  /** Verifies the callback's MAC in constant time; throws AuthenticationError when forged or tampered. */
  verifyCallback(fields: Record<string, string>): VerifiedCallback;
  /** The exact plain-text body the gateway expects as acknowledgement (ECPay: `1|OK`). */
  readonly acknowledgement: string;
}
