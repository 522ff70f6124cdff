// Suspicious behaviour injected into the simulated marketplace (docs/dashboards.md, "Risk"), pure and seeded by
// its own random stream, so the honest marketplace draws the same numbers with or without it. A small share of
// order arrivals starts an episode of one of three customer patterns; a few stores misbehave throughout:
//
//   card testing        one customer, 8–12 small card orders 15–50 s apart, every payment declined
//   refund abuse        one customer, 5–7 orders over about three hours, each delivered and then refunded
//   new account         a customer created now, then 5–7 high tickets (≥ 300 USD of goods) 60–100 s apart
//   store cancellations a store (drawn as orders draw them) whose orders are mostly paid, accepted and then
//                       cancelled (and refunded)
//
// What was injected is kept (`injected`), so a run can be checked against what the pipeline flags. Nothing here
// knows how the pipeline detects it: the detection rules live with the panels (grafana/src/riskInventory.ts).
import { localShelfPrice, MARKETS } from './catalog.ts';
import type { PlannedStep, LifecycleEvent } from './lifecycle.ts';
import { PAYMENT_PROFILES, type PaymentProfile } from './paymentMix.ts';
import { Rng } from './random.ts';
import {
  drawPhone,
  type CityModel,
  type CustomerModel,
  type ProductModel,
  type StoreModel,
  type World,
} from './world.ts';

export type RiskPattern = 'card_testing' | 'refund_abuse' | 'new_account' | 'store_cancellations';
const CUSTOMER_PATTERNS: readonly RiskPattern[] = ['card_testing', 'refund_abuse', 'new_account'];

export interface InjectedRisk {
  readonly pattern: RiskPattern;
  readonly atMs: number;
  readonly customer?: CustomerModel;
  readonly store?: StoreModel;
}

/** A customer the new-account pattern signs up, written before its first order (customer_create). */
export interface NewCustomer {
  readonly customer: CustomerModel;
  readonly cityId: number;
  readonly fullName: string;
  readonly email: string;
  readonly street: string;
  readonly latitude: number;
  readonly longitude: number;
}

/** One order an episode places: who, where, what, and its whole lifecycle. */
export interface InjectedArrival {
  readonly atMs: number;
  readonly pattern: RiskPattern;
  readonly city: CityModel;
  readonly store: StoreModel;
  readonly customer: CustomerModel;
  readonly payment: PaymentProfile;
  readonly lines: readonly { readonly product: ProductModel; readonly quantity: number }[];
  readonly plan: readonly PlannedStep[];
  /** Set on the first order of a new account: the account is created just before it. */
  readonly signUp?: NewCustomer;
}

const SEC = 1000;
const MIN = 60 * SEC;
const CARD = PAYMENT_PROFILES.credit_card;

/** Steps at increasing offsets from placement: [delay, ...events]. */
function plan(rng: Rng, steps: readonly (readonly [number, number, ...LifecycleEvent[]])[]): PlannedStep[] {
  let t = 0;
  return steps.map(([min, max, ...events]) => ({ afterMs: (t += Math.round(rng.uniform(min, max))), events }));
}

const declinedPlan = (rng: Rng) =>
  plan(rng, [
    [3 * SEC, 10 * SEC, 'payment_failed'],
    [2 * SEC, 4 * SEC, 'cancel'],
  ]);
const deliveredPlan = (rng: Rng, refund: boolean) =>
  plan(rng, [
    [5 * SEC, 20 * SEC, 'payment_confirmed'],
    [1 * MIN, 2 * MIN, 'accept'],
    [1 * MIN, 2 * MIN, 'start_preparing'],
    [8 * MIN, 20 * MIN, 'pick_up'],
    [8 * MIN, 20 * MIN, 'deliver'],
    ...(refund ? [[20 * MIN, 60 * MIN, 'refund'] as const] : []),
  ]);
/** Paid, accepted, then cancelled by the store, and refunded. */
const cancelledAfterPaymentPlan = (rng: Rng) =>
  plan(rng, [
    [5 * SEC, 20 * SEC, 'payment_confirmed'],
    [1 * MIN, 2 * MIN, 'accept'],
    [3 * MIN, 10 * MIN, 'cancel'],
    [5 * MIN, 15 * MIN, 'refund'],
  ]);

/** The cheapest product of the city's open stores (of the drawn store, when none is open), and its store. */
function cheapestIn(city: CityModel, drawn: StoreModel): { store: StoreModel; cheapest: ProductModel } {
  const open = city.stores.filter((s) => s.isActive && s.products.length);
  let best = { store: drawn, cheapest: [...drawn.products].sort((a, b) => a.priceCents - b.priceCents)[0]! };
  for (const store of open)
    for (const p of store.products) if (p.priceCents < best.cheapest.priceCents) best = { store, cheapest: p };
  return best;
}

export class RiskInjector {
  /** The injector's own random stream: its episodes' orders are priced from it too. */
  readonly rng: Rng;
  private readonly queue: InjectedArrival[] = [];
  private newAccounts = 0;
  private readonly used = new Set<CustomerModel>();
  /** The misbehaving stores, each with the orders placed there so far (its cadence, storePlan). */
  private readonly badStoreOrders = new Map<StoreModel, number>();
  readonly injected: InjectedRisk[] = [];

  /** `share`: the chance that an order arrival starts a customer episode; 0 injects nothing. */
  constructor(
    private readonly world: World,
    seed: string,
    private readonly share: number,
  ) {
    this.rng = Rng.derive(seed, 'risk');
    const bad = this.badStoreOrders;
    const count = share > 0 ? Math.max(1, Math.round(world.stores.length * share * 3)) : 0;
    for (let i = 0; i < count * 4 && bad.size < count; i++) {
      const store = this.busyStore();
      if (store) bad.set(store, 0);
    }
    for (const store of bad.keys()) this.injected.push({ pattern: 'store_cancellations', atMs: 0, store });
  }

  /**
   * A store drawn as orders draw them (city by population, then the city's store popularity): a misbehaving store
   * is one people order from, so its rate means something.
   */
  private busyStore(): StoreModel | undefined {
    const cities = this.world.cities.filter((c) => c.storePicker);
    const total = cities.reduce((s, c) => s + c.city.population, 0);
    let x = this.rng.uniform(0, total);
    const city = cities.find((c) => (x -= c.city.population) <= 0) ?? cities.at(-1);
    return city?.storePicker!.sample(this.rng);
  }

  /** When the next injected order is due (Infinity: none). */
  nextAtMs(): number {
    return this.queue[0]?.atMs ?? Infinity;
  }

  /** The next injected order, due at nextAtMs(), without taking it. */
  peek(): InjectedArrival | undefined {
    return this.queue[0];
  }

  /** Takes the next injected order. */
  take(): InjectedArrival | undefined {
    return this.queue.shift();
  }

  /** An honest arrival happened in `city`: with the share's chance, an episode starts there. */
  onArrival(atMs: number, city: CityModel): void {
    if (this.share <= 0 || !this.rng.chance(this.share) || !city.customers.length) return;
    const pattern = this.rng.pick(CUSTOMER_PATTERNS);
    // An open store of the city if there is one (a city whose stores all paused still has its arrivals).
    const open = city.stores.filter((s) => s.isActive);
    const store = this.rng.pick(open.length ? open : city.stores);
    if (pattern === 'card_testing') this.cardTesting(atMs, city, store);
    else if (pattern === 'refund_abuse') this.refundAbuse(atMs, city, store);
    else this.newAccount(atMs, city, store);
  }

  /**
   * A bad store's order: 7 of every 10 placed there are paid by card, accepted and cancelled; the others as planned.
   * A cadence, not a coin: with a 70 % chance per order, a store with few orders in a run can fall under the rule's
   * 30 % by chance (in CI on 2026-12-07 an injected store with the rule's support was not flagged), and a seeded
   * pattern should be there whenever the store has the rule's support.
   */
  storePlan(store: StoreModel): { payment: PaymentProfile; plan: PlannedStep[] } | undefined {
    const placed = this.badStoreOrders.get(store);
    if (placed === undefined) return undefined;
    this.badStoreOrders.set(store, placed + 1);
    if (placed % 10 >= 7) return undefined;
    return { payment: CARD, plan: cancelledAfterPaymentPlan(this.rng) };
  }

  private schedule(arrivals: InjectedArrival[]): void {
    this.queue.push(...arrivals);
    this.queue.sort((a, b) => a.atMs - b.atMs);
  }

  /** A customer no episode has used yet: each suspicious customer shows one pattern, once. */
  private freshCustomer(city: CityModel): CustomerModel | undefined {
    for (let i = 0; i < 8; i++) {
      const c = this.rng.pick(city.customers);
      if (!this.used.has(c)) return (this.used.add(c), c);
    }
    return undefined;
  }

  /** A card tester buys the cheapest thing the city's open stores sell (a small charge tests a card as well). */
  private cardTesting(atMs: number, city: CityModel, drawn: StoreModel): void {
    const customer = this.freshCustomer(city);
    if (!customer) return;
    const { store, cheapest } = cheapestIn(city, drawn);
    let t = atMs;
    const orders = Array.from({ length: this.rng.int(8, 12) }, () => ({
      atMs: Math.floor((t += this.rng.uniform(15 * SEC, 50 * SEC))),
      pattern: 'card_testing' as const,
      city,
      store,
      customer,
      payment: CARD,
      lines: [{ product: cheapest, quantity: 1 }],
      plan: declinedPlan(this.rng),
    }));
    this.injected.push({ pattern: 'card_testing', atMs, customer, store });
    this.schedule(orders);
  }

  private refundAbuse(atMs: number, city: CityModel, store: StoreModel): void {
    const customer = this.freshCustomer(city);
    if (!customer) return;
    let t = atMs;
    const orders = Array.from({ length: this.rng.int(5, 7) }, () => ({
      atMs: Math.floor((t += this.rng.uniform(20 * MIN, 40 * MIN))),
      pattern: 'refund_abuse' as const,
      city,
      store,
      customer,
      payment: CARD,
      lines: [{ product: this.rng.pick(store.products), quantity: this.rng.int(1, 2) }],
      plan: deliveredPlan(this.rng, true),
    }));
    this.injected.push({ pattern: 'refund_abuse', atMs, customer, store });
    this.schedule(orders);
  }

  private newAccount(atMs: number, city: CityModel, store: StoreModel): void {
    const n = ++this.newAccounts;
    const country = city.city.countryCode;
    const customer: CustomerModel = {
      dbId: '',
      index: -n,
      cityIndex: this.world.cities.indexOf(city),
      addressIds: [],
      email: `new.account.${n}@example.com`,
      phone: drawPhone(this.rng, country),
      lang: country === 'BR' ? 'pt' : 'es',
    };
    const signUp: NewCustomer = {
      customer,
      cityId: city.city.id,
      fullName: `New Account ${n}`,
      email: customer.email,
      street: `Rua Nova ${this.rng.int(1, 999)}`,
      latitude: Math.round((city.city.latitude + this.rng.uniform(-0.02, 0.02)) * 1e6) / 1e6,
      longitude: Math.round((city.city.longitude + this.rng.uniform(-0.02, 0.02)) * 1e6) / 1e6,
    };
    // High tickets: the store's three priciest products, enough of each for at least 300 USD of goods.
    const priciest = [...store.products].sort((a, b) => b.priceCents - a.priceCents).slice(0, 3);
    const target = localShelfPrice(30_000, MARKETS[country]);
    const perRound = priciest.reduce((s, p) => s + p.priceCents, 0);
    const quantity = Math.min(20, Math.max(1, Math.ceil(target / Math.max(1, perRound))));
    let t = atMs;
    const orders: InjectedArrival[] = Array.from({ length: this.rng.int(5, 7) }, (_, i) => ({
      atMs: Math.floor((t += this.rng.uniform(60 * SEC, 100 * SEC))),
      pattern: 'new_account' as const,
      city,
      store,
      customer,
      payment: CARD,
      lines: priciest.map((product) => ({ product, quantity })),
      plan: deliveredPlan(this.rng, false),
      ...(i === 0 ? { signUp } : {}),
    }));
    this.injected.push({ pattern: 'new_account', atMs, customer, store });
    this.schedule(orders);
  }
}
