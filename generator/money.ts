// Money in integer minor units (cents). Amounts are JS integers well below 2^53, every operation stays
// integral (no float ever holds money), and the database gets exact decimal text.

export type Cents = number;

function assertCents(x: number, what: string): void {
  if (!Number.isSafeInteger(x)) throw new RangeError(`${what} must be an integer number of cents, got ${x}`);
}

/** Cents → "1234.56" (the numeric(…,2) text PostgreSQL parses exactly). */
export function centsToDecimal(cents: Cents): string {
  assertCents(cents, 'amount');
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  const units = Math.floor(abs / 100);
  const frac = abs - units * 100;
  return `${sign}${units}.${frac < 10 ? '0' : ''}${frac}`;
}

/** "1234.5" / "1234.56" / "-0.07" → cents, exactly (parses the text; never goes through a float). */
export function decimalToCents(text: string): Cents {
  const m = /^(-?)(\d+)(?:\.(\d{0,2}))?$/.exec(text.trim());
  if (!m) throw new RangeError(`not a decimal with at most 2 places: ${JSON.stringify(text)}`);
  const cents = Number(m[2]) * 100 + Number((m[3] ?? '').padEnd(2, '0'));
  assertCents(cents, 'amount');
  return m[1] ? -cents : cents;
}

/** round(amount × numerator / denominator), half away from zero, in integer arithmetic. */
export function mulDivRound(amount: Cents, numerator: number, denominator: number): Cents {
  const product = amount * numerator;
  assertCents(product, 'amount × numerator');
  if (!Number.isSafeInteger(denominator) || denominator <= 0)
    throw new RangeError('denominator must be a positive integer');
  const sign = product < 0 ? -1 : 1;
  const abs = Math.abs(product);
  let q = Math.floor(abs / denominator);
  let r = abs - q * denominator; // exact: both terms are safe integers
  // Guard against the float division landing one off near an integer boundary.
  if (r < 0) {
    q -= 1;
    r += denominator;
  } else if (r >= denominator) {
    q += 1;
    r -= denominator;
  }
  return sign * (2 * r >= denominator ? q + 1 : q);
}

/** Rounds to a multiple of `step` cents (half up): 100 for currencies priced in whole units (CLP, COP). */
export function roundToStep(amount: Cents, step: number): Cents {
  return mulDivRound(amount, 1, step) * step;
}

export interface OrderLine {
  readonly quantity: number;
  readonly unitPriceCents: Cents;
}

export interface TotalsInput {
  readonly lines: readonly OrderLine[];
  readonly deliveryFeeCents: Cents;
  /** Percentage promotion in basis points (1500 = 15 %) applied to the subtotal … */
  readonly discountBp?: number;
  /** … capped at this many cents (promotions have a ceiling); and/or a fixed coupon amount. */
  readonly discountCapCents?: Cents;
  readonly couponCents?: Cents;
  /** Tax rate in basis points applied to (subtotal − discount). */
  readonly taxBp: number;
  /** Rounding step of the currency in cents (1, or 100 for whole-unit currencies). */
  readonly roundingStepCents?: number;
}

export interface OrderTotals {
  readonly lineTotalsCents: readonly Cents[];
  readonly itemCount: number;
  readonly subtotalCents: Cents;
  readonly deliveryFeeCents: Cents;
  readonly discountCents: Cents;
  readonly taxCents: Cents;
  readonly totalCents: Cents;
}

/**
 * The order's money, built so the contract's invariants hold by construction:
 * line_total = quantity × unit_price; subtotal = Σ line_total; item_count = Σ quantity;
 * total = subtotal + delivery_fee − discount + tax. The discount never exceeds the subtotal.
 */
export function buildOrderTotals(input: TotalsInput): OrderTotals {
  if (input.lines.length === 0) throw new RangeError('an order needs at least one line');
  const step = input.roundingStepCents ?? 1;
  let subtotal = 0;
  let itemCount = 0;
  const lineTotals: Cents[] = [];
  for (const line of input.lines) {
    if (!Number.isSafeInteger(line.quantity) || line.quantity <= 0)
      throw new RangeError(`quantity must be a positive integer, got ${line.quantity}`);
    assertCents(line.unitPriceCents, 'unit price');
    if (line.unitPriceCents < 0) throw new RangeError('unit price must be ≥ 0');
    const lineTotal = line.quantity * line.unitPriceCents;
    assertCents(lineTotal, 'line total');
    lineTotals.push(lineTotal);
    subtotal += lineTotal;
    itemCount += line.quantity;
  }
  assertCents(input.deliveryFeeCents, 'delivery fee');
  if (input.deliveryFeeCents < 0) throw new RangeError('delivery fee must be ≥ 0');
  let discount = 0;
  if (input.discountBp) {
    discount = roundToStep(mulDivRound(subtotal, input.discountBp, 10_000), step);
    if (input.discountCapCents !== undefined) discount = Math.min(discount, input.discountCapCents);
  }
  if (input.couponCents) discount += input.couponCents;
  discount = Math.min(discount, subtotal);
  const tax = roundToStep(mulDivRound(subtotal - discount, input.taxBp, 10_000), step);
  const total = subtotal + input.deliveryFeeCents - discount + tax;
  return {
    lineTotalsCents: lineTotals,
    itemCount,
    subtotalCents: subtotal,
    deliveryFeeCents: input.deliveryFeeCents,
    discountCents: discount,
    taxCents: tax,
    totalCents: total,
  };
}
