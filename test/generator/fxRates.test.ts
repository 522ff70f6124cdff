// The simulated exchange rates: the same rate for the same currency and day on every run, near the base, at the
// column's scale; each business date's rate published with the day after.
import { describe, expect, it } from 'vitest';
import { addDays, datesToPublish, RATED_CURRENCIES, usdPerUnitOn } from '../../generator/fxRates.ts';
import { COUNTRIES } from '../../generator/geo/gazetteer.ts';

describe('usdPerUnitOn', () => {
  it('rates every currency the marketplace sells in', () => {
    expect([...RATED_CURRENCIES].sort()).toEqual(COUNTRIES.map((c) => c.currency).sort());
  });

  it('is a function of the currency and the date, with 12 fraction digits, within 1% of the base', () => {
    const bases: Record<string, number> = {
      ARS: 1 / 1450,
      BRL: 1 / 5.4,
      CLP: 1 / 940,
      COP: 1 / 3900,
      MXN: 1 / 18.5,
      PEN: 1 / 3.7,
    };
    for (const currency of RATED_CURRENCIES) {
      const rates = new Set<string>();
      for (let d = 0; d < 60; d++) {
        const date = addDays('2026-11-01', d);
        const rate = usdPerUnitOn(currency, date)!;
        expect(rate).toMatch(/^\d+\.\d{12}$/);
        expect(usdPerUnitOn(currency, date)).toBe(rate);
        expect(Math.abs(Number(rate) / bases[currency]! - 1)).toBeLessThanOrEqual(0.0101);
        rates.add(rate);
      }
      expect(rates.size).toBeGreaterThan(50); // it moves from day to day
    }
  });

  it('has no rate for a currency without a base', () => {
    expect(usdPerUnitOn('EUR', '2026-12-07')).toBeUndefined();
  });
});

describe('dates', () => {
  it('adds calendar days across months, years and a leap day', () => {
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
  });

  it('publishes each business date with the day after, once', () => {
    expect(datesToPublish(['2026-12-07', '2026-12-06', '2026-12-07'])).toEqual([
      '2026-12-06',
      '2026-12-07',
      '2026-12-08',
    ]);
  });
});
