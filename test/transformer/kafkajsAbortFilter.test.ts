// kafkajs' read_committed filter, as patched (patches/kafkajs+2.2.4.patch): the broker may list aborted
// transactions out of first-offset order, and every record of each must still be dropped.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

type Msg = {
  offset: string;
  key: Buffer | null;
  value: string;
  batchContext: { producerId: string; inTransaction: boolean };
};
const filterAbortedMessages = createRequire(import.meta.url)(
  'kafkajs/src/consumer/filterAbortedMessages.js',
) as (args: { messages: Msg[]; abortedTransactions: { producerId: string; firstOffset: string }[] }) => Msg[];

const ABORT_MARKER = Buffer.from([0, 0, 0, 0]);
const record = (offset: number, producerId: string, value: string, inTransaction = true): Msg => ({
  offset: String(offset),
  key: Buffer.from('k'),
  value,
  batchContext: { producerId, inTransaction },
});
const abortMarker = (offset: number, producerId: string): Msg => ({
  offset: String(offset),
  key: ABORT_MARKER,
  value: '',
  batchContext: { producerId, inTransaction: true },
});

describe('kafkajs filterAbortedMessages (patched)', () => {
  it('drops both of two interleaved transactions aborted in the reverse order of their start', () => {
    const messages = [
      record(0, '-1', 'plain', false),
      record(1, '7', 'first-1'), // producer 7 begins first…
      record(2, '8', 'second-1'),
      record(3, '7', 'first-2'),
      abortMarker(4, '8'), // …and producer 8 is aborted first
      abortMarker(5, '7'),
      record(6, '9', 'committed'),
    ];
    // The broker's order: by where each transaction ended.
    const kept = filterAbortedMessages({
      messages,
      abortedTransactions: [
        { producerId: '8', firstOffset: '2' },
        { producerId: '7', firstOffset: '1' },
      ],
    });
    expect(kept.filter((m) => !m.key?.equals(ABORT_MARKER)).map((m) => m.value)).toEqual(['plain', 'committed']);
  });

  it('enters every aborted transaction that began before the first message of a fetch', () => {
    // A fetch that starts at offset 10, inside two transactions that began at 3 and 5.
    const messages = [
      record(10, '5', 'b'),
      record(11, '4', 'a'),
      abortMarker(12, '4'),
      abortMarker(13, '5'),
      record(14, '6', 'ok'),
    ];
    const kept = filterAbortedMessages({
      messages,
      abortedTransactions: [
        { producerId: '4', firstOffset: '3' },
        { producerId: '5', firstOffset: '5' },
      ],
    });
    expect(kept.filter((m) => !m.key?.equals(ABORT_MARKER)).map((m) => m.value)).toEqual(['ok']);
  });
});
