// The risk flags of an order's state (docs/dashboards.md, "Risk"). Pure. Each is a signed count on the order's
// delta rows, so the per-customer and per-store sums are exact like every other measure: a refund that arrives
// hours later retracts the delivered order and asserts it refunded. The thresholds that turn sums into a flag
// (how many declines in how many minutes, which refund share) are the panels' (grafana/src/riskInventory.ts).
import type { AssertedOrder } from './ledger.ts';
import type { OrderDeltaRow, Sign } from './orderDeltas.ts';

/** A high ticket: an order total of at least this many US cents at its business-date rate (150 USD). */
export const HIGH_TICKET_USD_CENTS = 15_000;
/**
 * A small card decline, what card testing is made of: a declined credit or debit card payment of less than this many
 * US cents at its business-date rate (10 USD). Honest declines are mostly ordinary baskets (median about 22 USD), so
 * the per-customer minute cube holds about a tenth of the declines, not all of them (docs/dashboards.md, "Risk").
 */
export const SMALL_CARD_DECLINE_USD_CENTS = 1_000;
const CARD_METHODS: ReadonlySet<string> = new Set(['credit_card', 'debit_card']);

/** Whether an order's state is a small card decline (false when its date has no USD rate). */
export function isSmallCardDecline(
  paymentStatus: string | null,
  paymentMethod: string | null,
  totalUsdCents: number | null | undefined,
): boolean {
  return (
    paymentStatus === 'failed' &&
    paymentMethod !== null &&
    CARD_METHODS.has(paymentMethod) &&
    typeof totalUsdCents === 'number' &&
    totalUsdCents < SMALL_CARD_DECLINE_USD_CENTS
  );
}

/** A new account: the customer signed up less than this long before the order. */
export const NEW_ACCOUNT_MS = 24 * 3600 * 1000;

/** Whether the customer had signed up less than a day before the order (false when either instant is unknown). */
export function isNewAccount(orderCreatedAt: string | null, customerSince: string | null): boolean {
  if (orderCreatedAt === null || customerSince === null) return false;
  const age = Date.parse(orderCreatedAt) - Date.parse(customerSince);
  return age >= 0 && age < NEW_ACCOUNT_MS;
}

type RiskMeasures = Pick<
  OrderDeltaRow,
  | 'failed_payment_orders'
  | 'small_card_declines'
  | 'refunded_orders'
  | 'paid_cancelled_orders'
  | 'high_ticket_orders'
  | 'new_account_orders'
  | 'new_account_high_ticket_orders'
>;

/**
 * failed: the payment was declined; refunded: delivered and then refunded (a claim); paid_cancelled: cancelled
 * after the money was taken (paid, or refunded since), other than rejected out of stock; small card declines, high
 * ticket and new account as above. An entry asserted before these existed (customerId absent) asserted none, so it
 * retracts none.
 */
export function riskMeasures(s: AssertedOrder, sign: Sign): RiskMeasures {
  const known = s.customerId !== undefined;
  const flag = (on: boolean) => (known && on ? sign : 0);
  const highTicket = typeof s.totalUsdCents === 'number' && s.totalUsdCents >= HIGH_TICKET_USD_CENTS;
  const paid = s.paymentStatus === 'paid' || s.paymentStatus === 'refunded';
  return {
    failed_payment_orders: flag(s.paymentStatus === 'failed'),
    // Stored with the entry when asserted: an entry from before the measure existed asserted none, so retracts none.
    small_card_declines: flag(s.smallCardDecline === true),
    refunded_orders: flag(s.status === 'delivered' && s.paymentStatus === 'refunded'),
    // A rejection for want of stock is the inventory's problem (lost_orders), not the store's conduct.
    paid_cancelled_orders: flag(s.status === 'cancelled' && paid && s.cancelReason !== 'out_of_stock'),
    high_ticket_orders: flag(highTicket),
    new_account_orders: flag(s.newAccount === true),
    new_account_high_ticket_orders: flag(s.newAccount === true && highTicket),
  };
}
