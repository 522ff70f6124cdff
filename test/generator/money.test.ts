// Money invariants: integer cents in, exact decimal text out, totals that add up to the cent.
import { describe, expect, it } from 'vitest';
import { buildOrderTotals, centsToDecimal, decimalToCents, mulDivRound, roundToStep } from '../../generator/money.ts';
import { Rng } from '../../generator/random.ts';

describe('cents and decimal text', () => {
  it('formats and parses exactly', () => {
    expect(centsToDecimal(0)).toBe('0.00');
    expect(centsToDecimal(7)).toBe('0.07');
    expect(centsToDecimal(1990)).toBe('19.90');
    expect(centsToDecimal(-1250)).toBe('-12.50');
    expect(centsToDecimal(123456789012)).toBe('1234567890.12');
    expect(decimalToCents('19.9')).toBe(1990);
    expect(decimalToCents('0.07')).toBe(7);
    expect(decimalToCents('12990')).toBe(1299000);
    expect(decimalToCents('-12.50')).toBe(-1250);
    const rng = new Rng('roundtrip');
    for (let i = 0; i < 10_000; i++) {
      const c = rng.int(-10_000_000, 10_000_000);
      expect(decimalToCents(centsToDecimal(c))).toBe(c);
    }
  });

  it('refuses fractions of a cent and floats', () => {
    expect(() => centsToDecimal(10.5)).toThrow(RangeError);
    expect(() => decimalToCents('1.005')).toThrow(RangeError);
    expect(() => decimalToCents('abc')).toThrow(RangeError);
  });

  it('rounds half away from zero in integer arithmetic', () => {
    expect(mulDivRound(1005, 1600, 10_000)).toBe(161); // 160.8 → 161
    expect(mulDivRound(125, 1, 10)).toBe(13); // 12.5 → 13
    expect(mulDivRound(124, 1, 10)).toBe(12);
    expect(mulDivRound(-125, 1, 10)).toBe(-13);
    expect(roundToStep(12_949, 100)).toBe(12_900);
    expect(roundToStep(12_950, 100)).toBe(13_000);
  });
});

describe('buildOrderTotals', () => {
  it('adds up a known order to the cent', () => {
    const t = buildOrderTotals({
      lines: [
        { quantity: 2, unitPriceCents: 2990 },
        { quantity: 1, unitPriceCents: 1550 },
      ],
      deliveryFeeCents: 690,
      discountBp: 1000,
      taxBp: 1600,
    });
    // subtotal 75.30; discount 10 % = 7.53; tax 16 % of 67.77 = 10.8432 → 10.84; total 75.30 + 6.90 − 7.53 + 10.84
    expect(t).toEqual({
      lineTotalsCents: [5980, 1550],
      itemCount: 3,
      subtotalCents: 7530,
      deliveryFeeCents: 690,
      discountCents: 753,
      taxCents: 1084,
      totalCents: 8551,
    });
  });

  it('keeps every contract invariant for random orders in every currency style', () => {
    const rng = new Rng('totals');
    for (let i = 0; i < 20_000; i++) {
      const step = rng.pick([1, 100]);
      const lines = Array.from({ length: rng.int(1, 12) }, () => ({
        quantity: rng.int(1, 6),
        unitPriceCents: rng.int(1, 50_000) * step,
      }));
      const input = {
        lines,
        deliveryFeeCents: rng.int(0, 2000) * step,
        discountBp: rng.chance(0.3) ? rng.int(1, 10) * 500 : 0,
        discountCapCents: rng.chance(0.5) ? rng.int(1, 5000) * step : undefined,
        couponCents: rng.chance(0.2) ? rng.int(1, 3000) * step : 0,
        taxBp: rng.pick([0, 800, 1600, 1800, 1900, 2100]),
        roundingStepCents: step,
      };
      const t = buildOrderTotals(input);
      lines.forEach((l, k) => expect(t.lineTotalsCents[k]).toBe(l.quantity * l.unitPriceCents));
      expect(t.subtotalCents).toBe(t.lineTotalsCents.reduce((s, x) => s + x, 0));
      expect(t.itemCount).toBe(lines.reduce((s, l) => s + l.quantity, 0));
      expect(t.totalCents).toBe(t.subtotalCents + t.deliveryFeeCents - t.discountCents + t.taxCents);
      expect(t.discountCents).toBeGreaterThanOrEqual(0);
      expect(t.discountCents).toBeLessThanOrEqual(t.subtotalCents);
      expect(t.taxCents % step).toBe(0);
      expect(t.totalCents % step).toBe(0);
      for (const v of [t.subtotalCents, t.discountCents, t.taxCents, t.totalCents])
        expect(Number.isSafeInteger(v)).toBe(true);
    }
  });

  it('rejects empty orders and non-integer quantities or prices', () => {
    expect(() => buildOrderTotals({ lines: [], deliveryFeeCents: 0, taxBp: 0 })).toThrow(RangeError);
    expect(() =>
      buildOrderTotals({ lines: [{ quantity: 1.5, unitPriceCents: 100 }], deliveryFeeCents: 0, taxBp: 0 }),
    ).toThrow(RangeError);
    expect(() =>
      buildOrderTotals({ lines: [{ quantity: 1, unitPriceCents: 99.9 }], deliveryFeeCents: 0, taxBp: 0 }),
    ).toThrow(RangeError);
  });
});
