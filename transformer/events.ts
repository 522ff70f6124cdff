// The clean events, exactly as docs/contracts.md defines them (OrderEvent, OrderItemEvent).
export type OrderEventType =
  'created' | 'status_changed' | 'paid' | 'refunded' | 'updated' | 'deleted' | 'snapshot' | 'truncated';
export type OrderItemEventType = 'created' | 'updated' | 'deleted' | 'snapshot' | 'truncated';

export interface OrderEvent {
  event_id: string;
  event_type: OrderEventType;
  order_id: string;
  order_version: number;
  status: string;
  previous_status: string | null;
  payment_status: string | null;
  payment_method: string | null;
  currency: string;
  subtotal: number;
  delivery_fee: number;
  discount: number;
  tax: number;
  total: number;
  subtotal_cents: number;
  delivery_fee_cents: number;
  discount_cents: number;
  tax_cents: number;
  total_cents: number;
  /** The store's local calendar date of the order (YYYY-MM-DD): the date whose exchange rate applies. */
  business_date: string | null;
  /** The rate used (fx_rates.usd_per_unit at business_date, decimal text); null when there is none. */
  usd_per_unit: string | null;
  /** The total in USD, round(total_cents × usd_per_unit) half away from zero; null without a rate. */
  total_usd: number | null;
  total_usd_cents: number | null;
  item_count: number;
  customer_id: string | null;
  /** When the customer signed up (customers.created_at); null when the customer is not known. */
  customer_since: string | null;
  store_id: string;
  city_id: string | null;
  store_name: string | null;
  store_category: string | null;
  city: string | null;
  country: string | null;
  latitude: number | null;
  longitude: number | null;
  event_time: string;
  created_at: string | null;
  delivered_at: string | null;
  delivery_minutes: number | null;
  is_deleted: 0 | 1;
  source_lsn: string | null;
  source_commit_lsn: string | null;
  source_tx_id: string | null;
  source_ts_ms: number;
  transformed_at_ms: number;
  /** Columns added to `orders` after the contract was written, passed through with their raw CDC value. */
  [extraColumn: string]: unknown;
}

export interface OrderItemEvent {
  event_id: string;
  event_type: OrderItemEventType;
  item_id: string;
  order_id: string | null;
  product_id: string | null;
  product_name: string | null;
  quantity: number | null;
  unit_price: number | null;
  unit_price_cents: number | null;
  line_total: number | null;
  line_total_cents: number | null;
  event_time: string;
  source_lsn: string | null;
  source_ts_ms: number;
  is_deleted: 0 | 1;
}
