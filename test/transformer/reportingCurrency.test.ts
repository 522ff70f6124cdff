// The USD rule: round(local cents × usd_per_unit) half away from zero, in integers, with no floating point.
import { describe, expect, it } from 'vitest';
import { decodeDecimal } from '../../transformer/decode/decodeDecimal.ts';
import { toUsdCents, usdAmount } from '../../transformer/reportingCurrency.ts';

const rate = (text: string) => decodeDecimal(text);

describe('toUsdCents', () => {
  it('multiplies exactly and rounds once to whole cents', () => {
    expect(toUsdCents(12040n, rate('0.187654321098'))).toBe(2259n); // 2259.357…
    expect(toUsdCents(100n, rate('0.000243902439'))).toBe(0n); // 1 COP = 0.0244 US cents
    expect(toUsdCents(41000000n, rate('0.000243902439'))).toBe(10000n); // 410,000.00 COP = 99.99999999 → 100.00 USD
  });

  it('rounds a half away from zero, as PostgreSQL round() does', () => {
    expect(toUsdCents(1n, rate('0.500000000000'))).toBe(1n);
    expect(toUsdCents(3n, rate('0.500000000000'))).toBe(2n);
    expect(toUsdCents(-1n, rate('0.500000000000'))).toBe(-1n);
    expect(toUsdCents(-3n, rate('0.500000000000'))).toBe(-2n);
    expect(toUsdCents(1n, rate('0.499999999999'))).toBe(0n);
  });

  it('stays exact where a double would not', () => {
    // 2^53 + 1 cents is not a double (it reads as 2^53), and the half would be lost with it.
    expect(toUsdCents(9007199254740993n, rate('0.500000000000'))).toBe(4503599627370497n);
    // A 16-digit amount at a 12-digit rate: 1234567890119999.876543210988 → …120000.
    expect(toUsdCents(9999999999999999n, rate('0.123456789012'))).toBe(1234567890120000n);
    expect(toUsdCents(7n, rate('3'))).toBe(21n);
  });
});

describe('usdAmount', () => {
  it('carries the rate it used, or null for both without a rate', () => {
    expect(usdAmount(12040n, rate('0.187654321098'))).toEqual({ usdPerUnit: '0.187654321098', totalUsdCents: 2259n });
    expect(usdAmount(12040n, undefined)).toEqual({ usdPerUnit: null, totalUsdCents: null });
  });
});
