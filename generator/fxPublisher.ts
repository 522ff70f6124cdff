// Publishes the day's exchange rates (fx_rates) ahead of the orders that need them: before a batch is written,
// every business date it holds, and the day after, gets a rate for each rated currency the marketplace sells in.
// A published rate is final: ON CONFLICT DO NOTHING keeps whatever is there (the role cannot update it anyway).
import type pg from 'pg';
import type { Logger } from '../lib/log.ts';
import { plainArray } from './pgArray.ts';
import { datesToPublish, RATED_CURRENCIES, usdPerUnitOn } from './fxRates.ts';

export class FxRatePublisher {
  /** Dates whose rates this run has published (or found): asked once each. */
  private readonly published = new Set<string>();

  private constructor(
    private readonly client: pg.ClientBase,
    private readonly currencies: readonly string[],
    private readonly log: Logger,
  ) {}

  /** The currencies of the marketplace's countries that have a simulated rate (countries.currency). */
  static async open(client: pg.ClientBase, log: Logger): Promise<FxRatePublisher> {
    const res = await client.query<{ currency: string }>('SELECT DISTINCT currency FROM countries ORDER BY 1');
    const currencies = res.rows.map((r) => r.currency).filter((c) => RATED_CURRENCIES.includes(c));
    const unrated = res.rows.map((r) => r.currency).filter((c) => !RATED_CURRENCIES.includes(c));
    if (unrated.length > 0)
      log.warn('no simulated exchange rate for these currencies: their orders will have no USD amount', { unrated });
    return new FxRatePublisher(client, currencies, log);
  }

  /** Makes sure the rates of these business dates and of the day after each exist; returns the rows inserted. */
  async ensure(businessDates: Iterable<string>): Promise<number> {
    const dates = datesToPublish(businessDates).filter((d) => !this.published.has(d));
    if (dates.length === 0 || this.currencies.length === 0) return 0;
    const rows = dates.flatMap((date) => this.currencies.map((currency) => ({ currency, date })));
    const res = await this.client.query(
      `INSERT INTO fx_rates (currency, rate_date, usd_per_unit, source)
       SELECT currency, rate_date, usd_per_unit, 'generator'
       FROM unnest($1::text[], $2::date[], $3::numeric[]) AS t(currency, rate_date, usd_per_unit)
       ON CONFLICT (currency, rate_date) DO NOTHING`,
      [
        plainArray(rows.map((r) => r.currency)),
        plainArray(rows.map((r) => r.date)),
        plainArray(rows.map((r) => usdPerUnitOn(r.currency, r.date)!)),
      ],
    );
    for (const d of dates) this.published.add(d);
    if ((res.rowCount ?? 0) > 0) this.log.info('published exchange rates', { dates, rows: res.rowCount });
    return res.rowCount ?? 0;
  }
}
