// The `before` image an update or delete must carry before its deltas are emitted. Pure.
//
// The −1 rows come from the ledger (what was asserted), and Debezium's before image is the independent
// check that the ledger saw every earlier change: a before image that disagrees with the ledger is counted
// and logged (ledger_mismatch). Without a full before image (REPLICA IDENTITY changed back to DEFAULT) that
// check is impossible, and the same setting silently loses the old values of every other consumer, so such
// a change is dead-lettered with the fix instead of producing any row.
import type { ChangeRecord } from '../decode/decodeEnvelope.ts';
import { DecodeError } from '../decode/errors.ts';

/** NOT NULL columns of each table that the deltas and their check read from the old row. */
const REQUIRED_BEFORE: Readonly<Record<'orders' | 'order_items', readonly string[]>> = {
  orders: [
    'status',
    'payment_status',
    'payment_method',
    'currency',
    'total',
    'item_count',
    'store_id',
    'created_at',
    'version',
  ],
  order_items: ['order_id', 'product_id', 'product_name', 'quantity', 'line_total'],
};

export function requireFullBefore(change: ChangeRecord, table: 'orders' | 'order_items', pk: string): void {
  if (change.op !== 'u' && change.op !== 'd') return;
  const before = change.before?.columns;
  const missing = REQUIRED_BEFORE[table].filter((c) => before?.[c] === undefined || before[c] === null);
  if (missing.length === 0) return;
  const what = change.op === 'u' ? 'update' : 'delete';
  throw new DecodeError(
    'before_image_incomplete',
    `${table} ${what} of id ${pk} has no full before image (missing: ${missing.join(', ')}), so its old state cannot be ` +
      `checked before it is retracted from the rollup. public.${table} must have REPLICA IDENTITY FULL: run ` +
      `ALTER TABLE public.${table} REPLICA IDENTITY FULL; then signal an incremental snapshot of public.${table} ` +
      '(docs/contracts.md, "Re-asserting rows") to re-assert the rows changed meanwhile.',
  );
}
