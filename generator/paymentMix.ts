// Each country's payment mix. Shares are rough public figures for LatAm delivery apps: cards
// dominate, cash is still large in Mexico, Colombia and Peru, and local rails have taken off (Pix in
// Brazil, Nequi and PSE in Colombia, Yape/Plin in Peru, Mercado Pago in Argentina; OXXO vouchers and
// SPEI transfers in Mexico for marketplace purchases).
import type { CountryCode } from './geo/gazetteer.ts';
import { AliasTable, type Rng } from './random.ts';
import { PulsoError } from '../lib/errors.ts';

export type PaymentMethod =
  | 'credit_card'
  | 'debit_card'
  | 'cash'
  | 'pix'
  | 'meal_voucher'
  | 'oxxo'
  | 'spei'
  | 'pse'
  | 'nequi'
  | 'yape'
  | 'plin'
  | 'khipu'
  | 'mach'
  | 'mercado_pago';

export interface PaymentProfile {
  readonly method: PaymentMethod;
  /** online: confirmed by the PSP after checkout; on_delivery: collected by the courier. */
  readonly settlement: 'online' | 'on_delivery';
  /** Median seconds from checkout to confirmation (online only). */
  readonly confirmMedianSec: number;
  /** Share of attempts declined or expired. */
  readonly failureRate: number;
}

const P = (
  method: PaymentMethod,
  settlement: PaymentProfile['settlement'],
  confirmMedianSec: number,
  failureRate: number,
): PaymentProfile => ({ method, settlement, confirmMedianSec, failureRate });

export const PAYMENT_PROFILES: Record<PaymentMethod, PaymentProfile> = {
  credit_card: P('credit_card', 'online', 4, 0.03),
  debit_card: P('debit_card', 'online', 4, 0.04),
  cash: P('cash', 'on_delivery', 0, 0),
  pix: P('pix', 'online', 25, 0.01), // the customer copies the Pix code into the bank app
  meal_voucher: P('meal_voucher', 'online', 5, 0.03), // vale-refeição cards (Alelo, Sodexo, VR)
  oxxo: P('oxxo', 'online', 1800, 0.15), // paid in cash at an OXXO store; unpaid vouchers expire
  spei: P('spei', 'online', 120, 0.02),
  pse: P('pse', 'online', 90, 0.05), // redirect to the bank's site
  nequi: P('nequi', 'online', 20, 0.02),
  yape: P('yape', 'online', 15, 0.01),
  plin: P('plin', 'online', 15, 0.01),
  khipu: P('khipu', 'online', 60, 0.03),
  mach: P('mach', 'online', 10, 0.02),
  mercado_pago: P('mercado_pago', 'online', 6, 0.02),
};

/** Percent shares per country (each row sums to 100). */
export const PAYMENT_MIX: Record<CountryCode, Partial<Record<PaymentMethod, number>>> = {
  BR: { credit_card: 38, pix: 33, debit_card: 10, meal_voucher: 11, cash: 8 },
  MX: { credit_card: 30, debit_card: 23, cash: 32, oxxo: 6, spei: 9 },
  CO: { credit_card: 26, debit_card: 12, cash: 28, pse: 12, nequi: 22 },
  PE: { credit_card: 24, debit_card: 14, cash: 24, yape: 31, plin: 7 },
  CL: { credit_card: 34, debit_card: 41, cash: 9, khipu: 9, mach: 7 },
  AR: { credit_card: 30, debit_card: 19, cash: 14, mercado_pago: 37 },
};

export class PaymentMixSampler {
  private readonly tables = new Map<CountryCode, AliasTable<PaymentProfile>>();

  constructor() {
    for (const [country, mix] of Object.entries(PAYMENT_MIX) as [
      CountryCode,
      Partial<Record<PaymentMethod, number>>,
    ][]) {
      const methods = Object.keys(mix) as PaymentMethod[];
      this.tables.set(
        country,
        new AliasTable(
          methods.map((m) => PAYMENT_PROFILES[m]),
          methods.map((m) => mix[m]!),
        ),
      );
    }
  }

  sample(rng: Rng, country: CountryCode): PaymentProfile {
    const t = this.tables.get(country);
    if (!t) throw new PulsoError(`no payment mix for ${country}`);
    return t.sample(rng);
  }
}
