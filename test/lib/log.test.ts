// Log lines stay bounded whatever a field holds: a poison record once produced one line of 100,000,228 characters.
import { describe, expect, it } from 'vitest';
import { formatLogLine, MAX_LOG_LINE, MAX_LOG_STRING } from '../../lib/log.ts';

describe('formatLogLine', () => {
  it('clips long strings and keeps the line parseable JSON under the limit', () => {
    const line = formatLogLine('warn', 'transformer', 'dead-lettered a record', {
      error: 'x'.repeat(100_000_000 / 100),
      offset: '7',
    });
    expect(line.length).toBeLessThanOrEqual(MAX_LOG_LINE);
    const parsed = JSON.parse(line) as { error: string; offset: string; msg: string };
    expect(parsed.offset).toBe('7');
    expect(parsed.error.length).toBeLessThan(MAX_LOG_STRING + 50);
    expect(parsed.error).toMatch(/… \(996000 more characters\)$/);
  });

  it('a line of many long fields keeps its head, still one JSON object', () => {
    const fields = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`f${i}`, 'y'.repeat(MAX_LOG_STRING)]));
    const line = formatLogLine('error', 'c', 'm', fields);
    expect(line.length).toBeLessThanOrEqual(MAX_LOG_LINE);
    expect((JSON.parse(line) as { truncated: string; msg: string }).msg).toBe('m');
  });

  it('leaves ordinary lines as they are, bigints as decimal text', () => {
    const line = formatLogLine('info', 'c', 'm', { n: 12345678901234567890n }, new Date(0));
    expect(line).toBe(
      '{"ts":"1970-01-01T00:00:00.000Z","level":"info","component":"c","msg":"m","n":"12345678901234567890"}',
    );
  });
});
