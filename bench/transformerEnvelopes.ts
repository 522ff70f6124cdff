// Synthetic envelopes for the benchmark, shaped like the connector's output (see test/fixtures/cdc for real ones).
import type { InputRecord } from '../transformer/transform.ts';

const STATUSES = ['placed', 'accepted', 'preparing', 'picked_up', 'delivered'];

/** Realistic envelopes: 1 insert + 4 status updates per order (FULL before), 3 items per order. */
export function benchEnvelopes(count: number, topicPrefix = 'pulso'): InputRecord[] {
  const out: InputRecord[] = [];
  let lsn = 30_000_000;
  let commit = 29_999_000;
  for (let order = 1; out.length < count; order++) {
    const id = 9_007_199_254_000_000 + order; // past 2^53 on purpose: exercises the lossless path
    const row = (status: string, version: number) =>
      `{"id":${id},"customer_id":${1000 + (order % 5000)},"store_id":${1 + (order % 50)},"address_id":${order},"status":"${status}",` +
      `"payment_method":"pix","payment_status":"${version > 1 ? 'paid' : 'pending'}","currency":"BRL","subtotal":"84.70",` +
      `"delivery_fee":"7.90","discount":"5.00","tax":"12.40","total":"100.00","item_count":3,"business_date":20419,` +
      `"created_at":"2025-11-27T12:00:00.123456Z","updated_at":"2025-11-27T12:0${version}:00.5Z",` +
      `"delivered_at":${status === 'delivered' ? '"2025-11-27T12:35:00.123456Z"' : 'null'},"version":${version},"notes":null}`;
    const env = (table: string, op: string, before: string, after: string) => {
      lsn += 57;
      const ts = 1764244800000 + lsn;
      return (
        `{"before":${before},"after":${after},"source":{"version":"3.6.1.Final","connector":"postgresql","name":"${topicPrefix}",` +
        `"ts_ms":${ts},"ts_us":${ts}000,"ts_ns":${ts}000000,"snapshot":null,"db":"pulso","sequence":"[\\"${commit}\\",\\"${lsn}\\"]",` +
        `"schema":"public","table":"${table}","txId":${800 + order},"lsn":${lsn},"xmin":null},"transaction":null,"op":"${op}",` +
        `"ts_ms":${ts + 120},"ts_us":${ts + 120}000,"ts_ns":${ts + 120}000000}`
      );
    };
    const push = (table: string, key: string, value: string) =>
      out.push({
        topic: `${topicPrefix}.public.${table}`,
        partition: 0,
        offset: String(out.length),
        key: Buffer.from(key),
        value: Buffer.from(value),
      });
    push('orders', `{"id":${id}}`, env('orders', 'c', 'null', row('placed', 1)));
    for (let item = 0; item < 3; item++) {
      const itemId = (BigInt(id) * 10n + BigInt(item)).toString(); // past 2^53: a Number would make the three ids one
      push(
        'order_items',
        `{"id":${itemId}}`,
        env(
          'order_items',
          'c',
          'null',
          `{"id":${itemId},"order_id":${id},"product_id":${500 + item},"product_name":"Açaí 500ml","quantity":1,"unit_price":"28.23","line_total":"28.23"}`,
        ),
      );
    }
    commit = lsn;
    for (let v = 2; v <= STATUSES.length; v++) {
      push('orders', `{"id":${id}}`, env('orders', 'u', row(STATUSES[v - 2]!, v - 1), row(STATUSES[v - 1]!, v)));
      commit = lsn;
    }
  }
  return out.slice(0, count);
}
