import { InternalError } from '../errors.js';
import type { Fee } from './model.js';

/**
 * Money is whole New Taiwan dollars (the currency has no minor unit in practice and the gateway takes
 * integers), kept as safe integers and never as floats.
 *
 * The fee of an Aliens certificate IC card (MOICA FAQ): NT$250 for the card and NT$28 for registered
 * postage and handling, NT$278 in total, paid online by credit card. The same for a re-issue.
 */

export const CARD_FEE_TWD = 250;
export const REGISTERED_POSTAGE_TWD = 28;

const assertAmount = (amount: number): number => {
  if (!Number.isSafeInteger(amount) || amount < 0) {
    throw new InternalError(`an amount of money must be a whole, non-negative number of NT$, got ${amount}`);
  }
  return amount;
};

/** The sum of the items, checked to be whole dollars. */
const sumItems = (items: Fee['items']): number =>
  items.reduce((total, item) => assertAmount(total + assertAmount(item.amount)), 0);

/** The itemised fee of one card application, labels in English and Traditional Chinese. */
export const applicationFee = (): Fee => {
  const items: Fee['items'] = [
    { code: 'card', label: 'IC card fee 晶片卡費', amount: CARD_FEE_TWD },
    { code: 'postage', label: 'Registered postage 掛號郵資', amount: REGISTERED_POSTAGE_TWD },
  ];
  return { currency: 'TWD', items, total: sumItems(items) };
};

/**
 * The total of a stored fee, after checking that it adds up (a fee whose items and total disagree is a
 * broken record, not something to charge).
 */
export const feeTotal = (fee: Fee): number => {
  if (fee.currency !== 'TWD') throw new InternalError(`fee currency ${String(fee.currency)} is not TWD`);
  const sum = sumItems(fee.items);
  if (sum !== fee.total) throw new InternalError(`fee items add up to ${sum}, the total says ${fee.total}`);
  return sum;
};

/** Whether a paid amount (as the gateway reports it) is exactly the fee. */
export const paysFee = (fee: Fee, amount: number): boolean =>
  Number.isSafeInteger(amount) && amount === feeTotal(fee);

/** `NT$278`, `NT$1,250`, `-NT$28` (for refunds or corrections). */
export const formatTwd = (amount: number): string => {
  if (!Number.isSafeInteger(amount)) throw new InternalError(`not a whole NT$ amount: ${amount}`);
  const digits = String(Math.abs(amount)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${amount < 0 ? '-' : ''}NT$${digits}`;
};
