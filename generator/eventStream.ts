// The marketplace as a deterministic stream of events in simulated time: order arrivals (a
// non-homogeneous Poisson process following each city's local daily curve), each order's planned
// lifecycle steps, and occasional updates/deletes of other rows. Pure: no clock, no I/O. The same
// seed, start and rate give the same events no matter how the caller slices time.
import { demandShape, localTime, MAX_DEMAND_SHAPE, zoneOffsetMs } from './dailyCurve.ts';
import { drawBasketLines, drawQuantity, localShelfPrice, MARKETS, orderNote } from './catalog.ts';
import { buildOrderTotals, mulDivRound, roundToStep, type Cents, type OrderTotals } from './money.ts';
import {
  INITIAL_STATE,
  nextLifecycleState,
  planLifecycle,
  type LifecycleEvent,
  type LifecycleState,
  type PlannedStep,
} from './lifecycle.ts';
import { PaymentMixSampler, type PaymentProfile } from './paymentMix.ts';
import { AliasTable, Rng, clamp } from './random.ts';
import {
  drawPhone,
  type CityModel,
  type CustomerModel,
  type ProductModel,
  type StoreModel,
  type World,
} from './world.ts';
import { RiskInjector, type NewCustomer, type RiskPattern } from './riskPatterns.ts';
import { acceptanceOutcome, restockMoves, returnedStock, type CancelReason, type StockMove } from './inventory.ts';

export interface OrderLineModel {
  readonly product: ProductModel;
  readonly productName: string;
  readonly quantity: number;
  readonly unitPriceCents: Cents;
  readonly lineTotalCents: Cents;
}

export interface LiveOrder {
  /** Position in the stream (1, 2, …): stable for a seed, unlike the database id. */
  readonly seq: number;
  /** Set by the writer when the order is inserted. */
  dbId: string | undefined;
  readonly store: StoreModel;
  readonly customer: CustomerModel;
  readonly addressId: string;
  readonly createdAtMs: number;
  readonly businessDate: string;
  readonly payment: PaymentProfile;
  readonly currency: string;
  readonly lines: readonly OrderLineModel[];
  readonly totals: OrderTotals;
  readonly notes: string | null;
  readonly plan: readonly PlannedStep[];
  state: LifecycleState;
  nextStep: number;
  /** Set while the order holds stock (accepted, not yet delivered or cancelled): a cancel returns it. */
  reserved: boolean;
  /** The suspicious episode that placed it (riskPatterns.ts), if any. */
  readonly pattern?: RiskPattern;
}

export type GenEvent =
  | { readonly kind: 'create'; readonly atMs: number; readonly order: LiveOrder }
  | {
      readonly kind: 'step';
      readonly atMs: number;
      readonly order: LiveOrder;
      readonly events: readonly LifecycleEvent[];
      readonly from: LifecycleState;
      readonly to: LifecycleState;
      /** Why the order was cancelled, when this step cancels it. */
      readonly cancelReason: CancelReason | null;
      /** Stock this step takes (acceptance: −quantity) or gives back (a cancel after acceptance: +quantity). */
      readonly stock: readonly StockMove[];
    }
  | {
      /** The scheduled restock of one store: its products at or under their reorder point, back to target. */
      readonly kind: 'restock';
      readonly atMs: number;
      readonly store: StoreModel;
      readonly stock: readonly StockMove[];
    }
  | {
      readonly kind: 'customer_update';
      readonly atMs: number;
      readonly customer: CustomerModel;
      readonly email: string;
      readonly phone: string;
    }
  | {
      readonly kind: 'store_update';
      readonly atMs: number;
      readonly store: StoreModel;
      readonly rating: number;
      readonly isActive: boolean;
    }
  | {
      readonly kind: 'price_update';
      readonly atMs: number;
      readonly store: StoreModel;
      readonly product: ProductModel;
      readonly priceCents: Cents;
    }
  | { readonly kind: 'purge'; readonly atMs: number; readonly order: LiveOrder }
  | ({
      /** A new account signs up (riskPatterns.ts, new_account): its customer and address rows. */
      readonly kind: 'customer_create';
      readonly atMs: number;
      /** The store of the orders that follow: the sign-up goes through the same lane (writer.ts laneOf). */
      readonly store: StoreModel;
    } & NewCustomer);

/** Occasional changes to other rows, as a fraction of the order rate. */
export interface MaintenanceRates {
  readonly customerUpdates: number;
  readonly storeUpdates: number;
  readonly priceUpdates: number;
  /** Deletes of cancelled orders (support purging test and fraudulent orders). */
  readonly purges: number;
}
export const DEFAULT_MAINTENANCE: MaintenanceRates = {
  customerUpdates: 0.02,
  storeUpdates: 0.004,
  priceUpdates: 0.01,
  purges: 0.0005,
};

export interface StreamOptions {
  readonly seed: string;
  /** Simulated epoch ms of the first instant. */
  readonly startMs: number;
  /** Mean order arrivals per simulated second (over a week: the daily curve redistributes them). */
  readonly ordersPerSimSecond: number;
  readonly curve: 'daily' | 'flat';
  /** Stop after this many orders of the marketplace's own arrivals (lifecycles, injected episodes started, continue). */
  readonly maxOrders?: number;
  readonly maintenance?: MaintenanceRates;
  /** Simulated time between restocks (default an hour). */
  readonly restockEveryMs?: number;
  /** Chance that an order arrival starts a suspicious episode (riskPatterns.ts); 0 injects none (default 0.0005). */
  readonly riskShare?: number;
}

export const DEFAULT_RISK_SHARE = 0.0005;

/** What an order is made of before it is priced: where, who, how it is paid, and the basket. */
interface OrderChoice {
  readonly city: CityModel;
  readonly store: StoreModel;
  readonly customer: CustomerModel;
  readonly addressId: string;
  readonly payment: PaymentProfile;
  readonly lines: readonly { readonly product: ProductModel; readonly quantity: number }[];
}

const DEFAULT_RESTOCK_EVERY_MS = 60 * 60_000;

/** Min-heap of orders keyed by the time of their next step (ties: stream order). */
class StepHeap {
  private readonly items: { at: number; seq: number; order: LiveOrder }[] = [];
  get size(): number {
    return this.items.length;
  }
  peekTime(): number {
    return this.items.length ? this.items[0]!.at : Infinity;
  }
  private less(i: number, j: number): boolean {
    const a = this.items[i]!,
      b = this.items[j]!;
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
  push(at: number, order: LiveOrder): void {
    const it = this.items;
    it.push({ at, seq: order.seq, order });
    let i = it.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      [it[i], it[p]] = [it[p]!, it[i]!];
      i = p;
    }
  }
  pop(): { at: number; order: LiveOrder } | undefined {
    const it = this.items;
    if (!it.length) return undefined;
    const top = it[0]!;
    const last = it.pop()!;
    if (it.length) {
      it[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < it.length && this.less(l, m)) m = l;
        if (r < it.length && this.less(r, m)) m = r;
        if (m === i) break;
        [it[i], it[m]] = [it[m]!, it[i]!];
        i = m;
      }
    }
    return top;
  }
}

const MINUTE = 60_000;
const CANCELLED_RING = 2000;

export class EventStream {
  private readonly arrivalsRng: Rng;
  private readonly ordersRng: Rng;
  private readonly maintenanceRng: Rng;
  private readonly payments = new PaymentMixSampler();
  private readonly heap = new StepHeap();
  private readonly maintenance: MaintenanceRates;
  private readonly maintenanceKinds: AliasTable<keyof MaintenanceRates>;
  private readonly maintenanceRatePerMs: number;
  private readonly candidateRatePerMs: number;
  private readonly cityBaseWeights: number[];
  private cityPickerMinute = NaN;
  private cityPicker: AliasTable<number> | undefined;
  private cityDemandRatio = 1; // Σ w·shape / (Σ w · MAX): thinning acceptance for the cached minute
  private nextArrivalMs: number;
  private nextMaintenanceMs: number;
  private arrivalsStopped = false;
  private readonly recentlyCancelled: LiveOrder[] = [];
  private nextRestockMs: number;
  private readonly restocks: GenEvent[] = [];
  /** Suspicious behaviour injected into the stream (riskPatterns.ts); `risk.injected` says what. */
  readonly risk: RiskInjector;
  private readonly signedUp = new Set<CustomerModel>();
  ordersCreated = 0;
  /** Orders of the marketplace's own arrivals: maxOrders caps these; injected episodes come on top. */
  private marketplaceOrders = 0;
  /** Orders placed whose lifecycle has steps still to come. */
  inLifecycle = 0;

  constructor(
    private readonly world: World,
    private readonly opts: StreamOptions,
  ) {
    if (!(opts.ordersPerSimSecond > 0)) throw new RangeError('ordersPerSimSecond must be > 0');
    this.arrivalsRng = Rng.derive(opts.seed, 'arrivals');
    this.ordersRng = Rng.derive(opts.seed, 'orders');
    this.maintenanceRng = Rng.derive(opts.seed, 'maintenance');
    this.maintenance = opts.maintenance ?? DEFAULT_MAINTENANCE;
    const kinds = Object.keys(this.maintenance) as (keyof MaintenanceRates)[];
    const totalMaintenance = kinds.reduce((s, k) => s + this.maintenance[k], 0);
    this.maintenanceKinds = new AliasTable(
      kinds,
      kinds.map((k) => this.maintenance[k] || 0).map((w) => (totalMaintenance > 0 ? w : 1)),
    );
    const perMs = opts.ordersPerSimSecond / 1000;
    this.maintenanceRatePerMs = perMs * totalMaintenance;
    // Thinning: candidates at the envelope rate, each accepted with probability demand/envelope.
    this.candidateRatePerMs = opts.curve === 'daily' ? perMs * MAX_DEMAND_SHAPE : perMs;
    this.cityBaseWeights = world.cities.map((c) => (c.stores.length && c.customers.length ? c.city.population : 0));
    this.nextArrivalMs = opts.startMs + this.arrivalsRng.exponential(1 / this.candidateRatePerMs);
    this.nextRestockMs = opts.startMs + (opts.restockEveryMs ?? DEFAULT_RESTOCK_EVERY_MS);
    this.risk = new RiskInjector(world, opts.seed, opts.riskShare ?? DEFAULT_RISK_SHARE);
    this.nextMaintenanceMs =
      this.maintenanceRatePerMs > 0
        ? opts.startMs + this.maintenanceRng.exponential(1 / this.maintenanceRatePerMs)
        : Infinity;
  }

  /** No more arrivals or maintenance; lifecycles of placed orders continue. */
  stopArrivals(): void {
    this.arrivalsStopped = true;
  }

  get arrivalsActive(): boolean {
    return !this.arrivalsStopped;
  }

  /** Orders placed by injected risk episodes: on top of the marketplace's own, which maxOrders caps. */
  get injectedOrders(): number {
    return this.ordersCreated - this.marketplaceOrders;
  }

  /** True when nothing is left to happen. */
  get exhausted(): boolean {
    return this.arrivalsStopped && this.heap.size === 0 && this.risk.nextAtMs() === Infinity;
  }

  /** Simulated time of the next event (Infinity if none). */
  peekTime(): number {
    const arrivals = this.arrivalsStopped
      ? Infinity
      : Math.min(this.nextArrivalMs, this.nextMaintenanceMs, this.nextRestockMs);
    return Math.min(arrivals, this.heap.peekTime(), this.risk.nextAtMs());
  }

  /** All events at or before `untilMs`, at most `limit` of them, in order. */
  take(untilMs: number, limit = Infinity): GenEvent[] {
    const out: GenEvent[] = [];
    while (out.length < limit) {
      const ev = this.nextEvent(untilMs);
      if (!ev) break;
      out.push(ev);
    }
    return out;
  }

  private nextEvent(untilMs: number): GenEvent | undefined {
    for (;;) {
      const stepAt = this.heap.peekTime();
      const arrivalAt = this.arrivalsStopped ? Infinity : this.nextArrivalMs;
      const maintAt = this.arrivalsStopped ? Infinity : this.nextMaintenanceMs;
      const restockAt = this.arrivalsStopped ? Infinity : this.nextRestockMs;
      const at = Math.min(stepAt, arrivalAt, maintAt, restockAt);
      if (this.restocks.length && this.restocks[0]!.atMs <= untilMs) return this.restocks.shift();
      // An injected episode's next order, once due, comes before anything later.
      const injectedAt = this.risk.nextAtMs();
      if (injectedAt <= untilMs && injectedAt <= at) return this.injectedArrival();
      if (at > untilMs || at === Infinity) return undefined;
      if (restockAt === at && stepAt > at && arrivalAt > at && maintAt > at) {
        this.scheduleRestocks(Math.floor(at));
        continue;
      }
      // Ties: lifecycle steps first (older orders), then arrivals, then maintenance.
      if (stepAt === at) return this.stepEvent();
      if (arrivalAt === at) {
        this.nextArrivalMs = at + this.arrivalsRng.exponential(1 / this.candidateRatePerMs);
        const ev = this.arrival(Math.floor(at)); // whole milliseconds: timestamps are written as epoch ms
        if (ev) return ev;
        continue; // thinned out
      }
      this.nextMaintenanceMs = at + this.maintenanceRng.exponential(1 / this.maintenanceRatePerMs);
      const ev = this.maintenanceEvent(Math.floor(at));
      if (ev) return ev;
    }
  }

  /** City choice for the minute containing `atMs`, weighted by population × local demand. */
  private pickerFor(atMs: number): AliasTable<number> {
    const minute = Math.floor(atMs / MINUTE);
    if (minute !== this.cityPickerMinute || !this.cityPicker) {
      const weights = this.world.cities.map((c, i) => {
        const base = this.cityBaseWeights[i]!;
        if (!base || this.opts.curve === 'flat') return base;
        const t = localTime(c.city.timezone, minute * MINUTE);
        return base * demandShape(t.weekday, t.hour);
      });
      const baseSum = this.cityBaseWeights.reduce((s, w) => s + w, 0);
      const sum = weights.reduce((s, w) => s + w, 0);
      this.cityDemandRatio = this.opts.curve === 'flat' ? 1 : sum / (baseSum * MAX_DEMAND_SHAPE);
      this.cityPicker = new AliasTable(
        weights.map((_, i) => i),
        weights,
      );
      this.cityPickerMinute = minute;
    }
    return this.cityPicker;
  }

  private arrival(atMs: number): GenEvent | undefined {
    const picker = this.pickerFor(atMs);
    if (this.opts.curve === 'daily' && !this.arrivalsRng.chance(this.cityDemandRatio)) return undefined;
    const rng = this.ordersRng;
    const cityModel = this.world.cities[picker.sampleIndex(rng)]!;
    let store = cityModel.storePicker!.sample(rng);
    for (let i = 0; i < 8 && !store.isActive; i++) store = cityModel.storePicker!.sample(rng);
    if (!store.isActive) store = cityModel.stores.find((s) => s.isActive) ?? store;
    const customer = cityModel.customerPicker!.sample(rng);
    const addressId = rng.pick(customer.addressIds);
    const payment = this.payments.sample(rng, cityModel.city.countryCode);

    const wanted = Math.min(drawBasketLines(rng, store.category), store.products.length);
    const chosen = new Set<ProductModel>();
    for (let tries = 0; chosen.size < wanted && tries < wanted * 4; tries++)
      chosen.add(store.productPicker.sample(rng));
    const lines = [...chosen].map((product) => ({ product, quantity: drawQuantity(rng, store.category) }));
    this.risk.onArrival(atMs, cityModel);
    return this.placeOrder(atMs, { city: cityModel, store, customer, addressId, payment, lines });
  }

  /** An order of an injected episode (riskPatterns.ts), preceded by its account's sign-up if it is the first. */
  private injectedArrival(): GenEvent {
    const a = this.risk.peek()!;
    if (a.signUp && !this.signedUp.has(a.customer)) {
      this.signedUp.add(a.customer);
      return { kind: 'customer_create', atMs: a.atMs, store: a.store, ...a.signUp };
    }
    this.risk.take();
    return this.placeOrder(a.atMs, { ...a, addressId: '' }, { plan: a.plan, pattern: a.pattern });
  }

  /**
   * Prices a basket and places the order: fees, promotions, totals, notes and (unless given) its lifecycle are
   * drawn from the orders stream (an injected order's from the risk stream, so the honest ones stay the same). `addressId` '' means the customer's first address once it is written.
   */
  private placeOrder(
    atMs: number,
    o: OrderChoice,
    injected?: { readonly plan: readonly PlannedStep[]; readonly pattern: RiskPattern },
  ): GenEvent {
    const rng = injected ? this.risk.rng : this.ordersRng;
    const plan = injected?.plan;
    const { city: cityModel, store, customer, lines: basket } = o;
    const country = cityModel.city.countryCode;
    const market = MARKETS[country];
    const subtotalGuess = basket.reduce((s, l) => s + l.product.priceCents * l.quantity, 0);
    const freeDeliveryOver = localShelfPrice(market.freeDeliveryOverUsdCents, market);
    const deliveryFeeCents =
      subtotalGuess >= freeDeliveryOver && rng.chance(0.5)
        ? 0
        : localShelfPrice(
            Math.round(clamp(rng.lognormal(market.deliveryFeeUsdCents, 0.3), 40, market.deliveryFeeUsdCents * 4)),
            market,
          );
    // Promotions: ~15 % of orders carry a percentage promo (capped), ~5 % a fixed coupon.
    const promo = rng.next();
    const discountBp = promo < 0.15 ? rng.int(2, 6) * 500 : 0;
    const couponCents = promo >= 0.15 && promo < 0.2 ? localShelfPrice(rng.pick([200, 300, 500]), market) : 0;
    const totals = buildOrderTotals({
      lines: basket.map((l) => ({ quantity: l.quantity, unitPriceCents: l.product.priceCents })),
      deliveryFeeCents,
      discountBp,
      discountCapCents: roundToStep(localShelfPrice(800, market), market.roundingStepCents),
      couponCents,
      taxBp: market.taxBp,
      roundingStepCents: market.roundingStepCents,
    });
    const lines: OrderLineModel[] = basket.map((l, i) => ({
      product: l.product,
      productName: l.product.name,
      quantity: l.quantity,
      unitPriceCents: l.product.priceCents,
      lineTotalCents: totals.lineTotalsCents[i]!,
    }));
    const notes = orderNote(rng, country);
    const drawn = plan ?? planLifecycle(rng, o.payment, store.category);
    const misbehaving = plan ? undefined : this.risk.storePlan(store);
    const order: LiveOrder = {
      seq: ++this.ordersCreated,
      dbId: undefined,
      store,
      customer,
      addressId: o.addressId,
      createdAtMs: atMs,
      businessDate: localDate(cityModel.city.timezone, atMs),
      payment: misbehaving?.payment ?? o.payment,
      currency: market.currency,
      lines,
      totals,
      notes,
      plan: misbehaving?.plan ?? drawn,
      state: INITIAL_STATE,
      nextStep: 0,
      reserved: false,
      ...(injected ? { pattern: injected.pattern } : {}),
    };
    this.inLifecycle++;
    this.heap.push(atMs + order.plan[0]!.afterMs, order);
    if (plan === undefined) this.marketplaceOrders++;
    if (this.opts.maxOrders !== undefined && this.marketplaceOrders >= this.opts.maxOrders) this.stopArrivals();
    return { kind: 'create', atMs, order };
  }

  private stepEvent(): GenEvent {
    const { at, order } = this.heap.pop()!;
    const step = order.plan[order.nextStep]!;
    const from = order.state;
    const outcome = this.stockOutcome(order, step.events);
    let to = from;
    for (const e of outcome.events) to = nextLifecycleState(to, e); // throws on an impossible plan
    order.state = to;
    order.nextStep = outcome.rejected ? order.plan.length : order.nextStep + 1;
    const next = order.plan[order.nextStep];
    if (next) {
      this.heap.push(order.createdAtMs + next.afterMs, order);
    } else {
      this.inLifecycle--;
      if (to.status === 'cancelled') {
        this.recentlyCancelled.push(order);
        if (this.recentlyCancelled.length > CANCELLED_RING) this.recentlyCancelled.shift();
      }
    }
    const cancelReason = to.status === 'cancelled' && from.status !== 'cancelled' ? outcome.cancelReason : null;
    return { kind: 'step', atMs: at, order, events: outcome.events, from, to, cancelReason, stock: outcome.stock };
  }

  /** What a step does to stock: an acceptance reserves it or, short of it, rejects the order; a cancel returns it. */
  private stockOutcome(order: LiveOrder, events: readonly LifecycleEvent[]) {
    if (events.includes('accept')) {
      const accepted = acceptanceOutcome(order.lines, events, order.state);
      order.reserved = !accepted.rejected;
      return accepted;
    }
    if (events.includes('cancel') && order.reserved) {
      order.reserved = false;
      return { events, rejected: false, cancelReason: 'customer' as const, stock: returnedStock(order.lines) };
    }
    if (events.includes('deliver')) order.reserved = false; // the stock left with the courier for good
    return { events, rejected: false, cancelReason: 'customer' as const, stock: [] };
  }

  /** Queues one restock event per store that has products at or under their reorder point. */
  private scheduleRestocks(atMs: number): void {
    this.nextRestockMs = atMs + (this.opts.restockEveryMs ?? DEFAULT_RESTOCK_EVERY_MS);
    for (const store of this.world.stores) {
      const stock = restockMoves(store.products);
      if (stock.length) this.restocks.push({ kind: 'restock', atMs, store, stock });
    }
  }

  private maintenanceEvent(atMs: number): GenEvent | undefined {
    const rng = this.maintenanceRng;
    const kind = this.maintenanceKinds.sample(rng);
    switch (kind) {
      case 'customerUpdates': {
        const customer = rng.pick(this.world.customers);
        const country = this.world.cities[customer.cityIndex]!.city.countryCode;
        // People change phones more often than e-mails.
        if (rng.chance(0.65)) customer.phone = drawPhone(rng, country);
        else customer.email = customer.email.replace('@', `.${rng.int(1, 99)}@`);
        return { kind: 'customer_update', atMs, customer, email: customer.email, phone: customer.phone };
      }
      case 'storeUpdates': {
        const store = rng.pick(this.world.stores);
        // Mostly a rating drift; sometimes a store pauses (or resumes) taking orders.
        if (rng.chance(0.12)) store.isActive = !store.isActive;
        else store.rating = Math.round(clamp(store.rating * 10 + rng.pick([-1, 1]), 25, 50)) / 10;
        return { kind: 'store_update', atMs, store, rating: store.rating, isActive: store.isActive };
      }
      case 'priceUpdates': {
        const store = rng.pick(this.world.stores);
        const product = rng.pick(store.products);
        const market = MARKETS[this.world.cities[store.cityIndex]!.city.countryCode];
        // Price changes lean upwards (inflation), a few are promotions.
        const bp = Math.round(rng.normal(300, 600));
        const stepped = Math.max(
          market.priceStepCents,
          roundToStep(mulDivRound(product.priceCents, 10_000 + bp, 10_000), market.priceStepCents),
        );
        product.priceCents = market.priceEndingCents
          ? stepped - market.priceStepCents + market.priceEndingCents
          : stepped;
        return { kind: 'price_update', atMs, store, product, priceCents: product.priceCents };
      }
      case 'purges': {
        const order = this.recentlyCancelled.shift();
        return order ? { kind: 'purge', atMs, order } : undefined;
      }
    }
  }
}

function localDate(timeZone: string, epochMs: number): string {
  return new Date(epochMs + zoneOffsetMs(timeZone, epochMs)).toISOString().slice(0, 10);
}
