// The order lifecycle: a state machine over (status, payment_status) and a planner that draws, when an
// order is placed, the whole path it will take and when (realistic delays, cancellations, refunds).
// Both are pure; the writer turns each planned step into one transaction.
import type { Rng } from './random.ts';
import { clamp } from './random.ts';
import type { PaymentProfile } from './paymentMix.ts';
import type { StoreCategory } from './catalog.ts';
import { PulsoError } from '../lib/errors.ts';

export type OrderStatus = 'placed' | 'accepted' | 'preparing' | 'picked_up' | 'delivered' | 'cancelled';
export type PaymentStatus = 'pending' | 'paid' | 'refunded' | 'failed';
export const ORDER_STATUSES: readonly OrderStatus[] = [
  'placed',
  'accepted',
  'preparing',
  'picked_up',
  'delivered',
  'cancelled',
];
export const PAYMENT_STATUSES: readonly PaymentStatus[] = ['pending', 'paid', 'refunded', 'failed'];

export interface LifecycleState {
  readonly status: OrderStatus;
  readonly paymentStatus: PaymentStatus;
}

export type LifecycleEvent =
  | 'payment_confirmed' // the PSP (or the courier, for cash) confirms the money
  | 'payment_failed' // declined card, expired voucher
  | 'accept' // the store accepts
  | 'start_preparing'
  | 'pick_up' // the courier leaves the store
  | 'deliver'
  | 'cancel' // by the customer, the store, or support
  | 'refund';

export const INITIAL_STATE: LifecycleState = { status: 'placed', paymentStatus: 'pending' };

export class InvalidTransitionError extends PulsoError {
  constructor(
    readonly state: LifecycleState,
    readonly event: LifecycleEvent,
  ) {
    super(`cannot ${event} an order that is ${state.status} with payment ${state.paymentStatus}`);
  }
}

const CANCELLABLE: ReadonlySet<OrderStatus> = new Set(['placed', 'accepted', 'preparing']);

/** The state after `event`, or InvalidTransitionError when the event is not allowed in `state`. */
export function nextLifecycleState(state: LifecycleState, event: LifecycleEvent): LifecycleState {
  const { status, paymentStatus } = state;
  const fail = (): never => {
    throw new InvalidTransitionError(state, event);
  };
  switch (event) {
    case 'payment_confirmed':
      // Online payments confirm before acceptance; cash is collected at the door (delivered).
      return paymentStatus === 'pending' && status !== 'cancelled' ? { status, paymentStatus: 'paid' } : fail();
    case 'payment_failed':
      return paymentStatus === 'pending' && status === 'placed' ? { status, paymentStatus: 'failed' } : fail();
    case 'accept':
      return status === 'placed' && (paymentStatus === 'paid' || paymentStatus === 'pending')
        ? { status: 'accepted', paymentStatus }
        : fail();
    case 'start_preparing':
      return status === 'accepted' ? { status: 'preparing', paymentStatus } : fail();
    case 'pick_up':
      return status === 'preparing' ? { status: 'picked_up', paymentStatus } : fail();
    case 'deliver':
      return status === 'picked_up' ? { status: 'delivered', paymentStatus } : fail();
    case 'cancel':
      return CANCELLABLE.has(status) ? { status: 'cancelled', paymentStatus } : fail();
    case 'refund':
      return paymentStatus === 'paid' && (status === 'cancelled' || status === 'delivered')
        ? { status, paymentStatus: 'refunded' }
        : fail();
  }
}

/** A terminal state: nothing more will happen to the order. */
export function isTerminal(state: LifecycleState, hasPendingRefund = false): boolean {
  if (hasPendingRefund) return false;
  if (state.status === 'cancelled') return state.paymentStatus !== 'paid';
  return state.status === 'delivered' && state.paymentStatus !== 'pending';
}

/** One planned transaction: events applied in order, at a time offset from placement. */
export interface PlannedStep {
  readonly afterMs: number;
  readonly events: readonly LifecycleEvent[];
}

// Rates, per order. Cancellation in food delivery runs at a few percent; refunds after delivery
// (missing item, cold food) around 1–2 %.
export const LIFECYCLE_RATES = {
  customerCancelsBeforeAccept: 0.015,
  storeRejects: 0.025,
  cancelledWhilePreparing: 0.008, // no courier found, out of stock
  refundAfterDelivery: 0.015,
} as const;

// Preparation time median (minutes) by store category.
const PREP_MINUTES: Record<StoreCategory, number> = {
  restaurant: 16,
  market: 14,
  pharmacy: 6,
  liquor: 5,
  convenience: 6,
  pet: 8,
  electronics: 10,
};

const MIN = 60_000;

/**
 * Draws the whole life of an order placed now. Every path ends in a terminal state; each step is a
 * valid transition (tests replay plans through nextLifecycleState).
 */
export function planLifecycle(rng: Rng, payment: PaymentProfile, category: StoreCategory): PlannedStep[] {
  const steps: PlannedStep[] = [];
  let t = 0;
  const at = (deltaMs: number, ...events: LifecycleEvent[]) => {
    t += Math.max(1000, Math.round(deltaMs));
    steps.push({ afterMs: t, events });
  };
  let paid = false;
  if (payment.settlement === 'online') {
    // PSP confirmation: seconds for cards and wallets, minutes for bank transfers and vouchers.
    const delay = clamp(rng.lognormal(payment.confirmMedianSec * 1000, 0.6), 1000, payment.confirmMedianSec * 8000);
    if (rng.chance(payment.failureRate)) {
      at(delay, 'payment_failed');
      at(rng.uniform(1000, 4000), 'cancel');
      return steps;
    }
    at(delay, 'payment_confirmed');
    paid = true;
  }
  // Refunds are processed by the PSP some minutes after a cancellation.
  const cancelNow = (delayMs: number) => {
    at(delayMs, 'cancel');
    if (paid) at(rng.lognormal(8 * MIN, 0.7), 'refund');
    return steps;
  };
  if (rng.chance(LIFECYCLE_RATES.customerCancelsBeforeAccept)) return cancelNow(rng.lognormal(1.5 * MIN, 0.6));
  const acceptDelay = clamp(rng.lognormal(1.3 * MIN, 0.6), 10_000, 20 * MIN);
  if (rng.chance(LIFECYCLE_RATES.storeRejects)) return cancelNow(acceptDelay);
  at(acceptDelay, 'accept');
  at(clamp(rng.lognormal(1 * MIN, 0.5), 10_000, 10 * MIN), 'start_preparing');
  const prep = clamp(rng.lognormal(PREP_MINUTES[category] * MIN, 0.35), 2 * MIN, 90 * MIN);
  if (rng.chance(LIFECYCLE_RATES.cancelledWhilePreparing)) return cancelNow(prep * rng.uniform(0.3, 1));
  at(prep, 'pick_up');
  // Travel: a typical urban delivery, 8–30 minutes.
  const travel = clamp(rng.lognormal(13 * MIN, 0.35), 4 * MIN, 60 * MIN);
  if (payment.settlement === 'on_delivery') {
    at(travel, 'deliver', 'payment_confirmed'); // the courier collects cash at the door
    paid = true;
  } else {
    at(travel, 'deliver');
  }
  if (paid && rng.chance(LIFECYCLE_RATES.refundAfterDelivery)) at(rng.uniform(10 * MIN, 90 * MIN), 'refund');
  return steps;
}
