import { describe, expect, it } from 'vitest';
import type { Message } from 'kafkajs';
import { requestsUnderLimit } from '../../transformer/run.ts';

describe('requestsUnderLimit', () => {
  it('splits a transaction’s messages into requests under 1 MiB, keeping every message once and in order', () => {
    const value = 'x'.repeat(1000);
    const byTopic = new Map<string, Message[]>([
      ['orders', Array.from({ length: 2000 }, (_, i) => ({ key: String(i), value }))],
      ['pulso.dlq', [{ key: 'k', value: 'bad', headers: { 'dlq.reason': 'invalid_json' } }]],
    ]);
    const requests = requestsUnderLimit(byTopic);
    expect(requests.length).toBeGreaterThan(1);
    for (const r of requests) {
      const bytes = r.flatMap((tm) => tm.messages).reduce((n, m) => n + String(m.value).length + String(m.key).length, 0);
      expect(bytes).toBeLessThan(1024 * 1024);
    }
    const flattened = requests.flat().flatMap((tm) => tm.messages.map((m) => `${tm.topic}:${String(m.key)}`));
    expect(flattened).toEqual([...Array.from({ length: 2000 }, (_, i) => `orders:${i}`), 'pulso.dlq:k']);
  });
});
