import { describe, expect, it } from 'vitest';
import { parseJsonLossless, quoteLongIntegers } from '../../transformer/decode/parseJsonLossless.ts';
import {
  decodeDecimal,
  decodeMoney,
  rescale,
  twosComplementToBigInt,
  decimalToJsonNumber,
} from '../../transformer/decode/decodeDecimal.ts';
import {
  decodeDateDays,
  decodeMicroTime,
  decodeMicroTimestamp,
  decodeMilliTimestamp,
  decodeNanoTimestamp,
  decodeZonedTimestamp,
} from '../../transformer/decode/decodeTemporal.ts';
import { DecodeError } from '../../transformer/decode/errors.ts';
import { decodeId } from '../../transformer/decode/values.ts';

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof DecodeError ? e.reason : `not a DecodeError: ${String(e)}`;
  }
  return undefined;
}

describe('parseJsonLossless', () => {
  it('keeps integers past 2^53 exact as decimal strings', () => {
    const v = parseJsonLossless(
      '{"id":9007199254740993,"ts_ns":1764284400123456789,"small":42,"neg":-9223372036854775808}',
    ) as Record<string, unknown>;
    expect(v).toEqual({ id: '9007199254740993', ts_ns: '1764284400123456789', small: 42, neg: '-9223372036854775808' });
  });
  it('leaves digits inside strings, fractions and exponents alone', () => {
    const text =
      '{"s":"12345678901234567890","esc":"a\\"1234567890123456789\\"","f":1.12345678901234567,"e":1e1234567890123456}';
    expect(quoteLongIntegers(text)).toBe(text);
  });
  it('quotes 16-digit integers but not 15-digit ones', () => {
    expect(quoteLongIntegers('[123456789012345,1234567890123456]')).toBe('[123456789012345,"1234567890123456"]');
  });
  it('reports invalid JSON as invalid_json', () => {
    expect(reasonOf(() => parseJsonLossless('{"op":"c",'))).toBe('invalid_json');
  });
});

describe('decodeDecimal', () => {
  it('decodes decimal strings exactly, including cents', () => {
    expect(decodeMoney('12.50')).toEqual({ text: '12.50', cents: 1250n });
    expect(decodeMoney('0.1')).toEqual({ text: '0.10', cents: 10n });
    expect(decodeMoney('-0.05')).toEqual({ text: '-0.05', cents: -5n });
    expect(decodeMoney('999999999999.99').cents).toBe(99999999999999n);
  });
  it('decodes the precise base64 form with a known scale (reference worked examples)', () => {
    expect(decodeDecimal('BOI=', { scale: 2 }).text).toBe('12.50');
    expect(decodeDecimal('B88=', { scale: 2 }).text).toBe('19.99');
    expect(decodeDecimal('+x4=', { scale: 2 }).text).toBe('-12.50');
    expect(decodeDecimal('ALxhTg==', { scale: 2 }).text).toBe('123456.78');
  });
  it('decodes VariableScaleDecimal objects', () => {
    expect(decodeDecimal({ scale: 2, value: 'BOI=' })).toMatchObject({ unscaled: 1250n, scale: 2, text: '12.50' });
    expect(decodeDecimal({ scale: 0, value: 'AA==' }).text).toBe('0');
  });
  it('reads two’s complement big-endian bytes', () => {
    expect(twosComplementToBigInt(Uint8Array.from([0xff]))).toBe(-1n);
    expect(twosComplementToBigInt(Uint8Array.from([0x00, 0xff]))).toBe(255n);
  });
  it('refuses money with sub-cent digits, NaN and floats instead of rounding', () => {
    expect(reasonOf(() => decodeMoney('1.005'))).toBe('bad_decimal');
    expect(rescale(decodeDecimal('1.500'), 2).text).toBe('1.50');
    expect(reasonOf(() => decodeMoney('NAN'))).toBe('bad_decimal');
    expect(reasonOf(() => decodeDecimal(12.5))).toBe('bad_decimal');
    expect(reasonOf(() => decodeDecimal('BOI='))).toBe('bad_decimal'); // base64 without a known scale
  });
  it('refuses a scale or a length PostgreSQL cannot store before doing any work that grows with it', () => {
    // Poison records seen on a running stack: scale 5e7 took 6.4 s of CPU and a 50 MB error; 1e8, 31 s.
    for (const poison of [
      { scale: 5e7, value: 'AQ==' },
      { scale: 1e8, value: 'AQ==' },
      { scale: 16_384, value: 'AQ==' },
      '1.' + '0'.repeat(16_384),
      '9'.repeat(200_000),
      { scale: 2, value: 'A'.repeat(400_000) },
    ]) {
      let error: unknown;
      try {
        decodeMoney(poison);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DecodeError);
      expect((error as DecodeError).reason).toBe('bad_decimal');
      expect((error as DecodeError).message).toMatch(/beyond PostgreSQL's NUMERIC/);
      expect((error as DecodeError).message.length).toBeLessThan(500);
    }
    // The largest scale PostgreSQL allows still decodes exactly.
    expect(decodeDecimal('0.' + '0'.repeat(16_382) + '1').scale).toBe(16_383);
    expect(rescale(decodeDecimal({ scale: 16_383, value: 'AA==' }), 2).text).toBe('0.00');
  });
  it('turns exact decimals into JSON numbers that print as the same decimal', () => {
    expect(JSON.stringify(decimalToJsonNumber({ text: '120.40' }))).toBe('120.4');
    expect(JSON.stringify(decimalToJsonNumber({ text: '999999999999.99' }))).toBe('999999999999.99');
  });
});

describe('decodeTemporal', () => {
  it('reads ZonedTimestamp with 0 to 9 fraction digits as UTC ms (truncating)', () => {
    expect(decodeZonedTimestamp('2025-03-01T15:04:05Z').iso).toBe('2025-03-01T15:04:05.000Z');
    expect(decodeZonedTimestamp('2025-03-01T15:04:05.1Z').iso).toBe('2025-03-01T15:04:05.100Z');
    expect(decodeZonedTimestamp('2025-03-01T15:04:05.123456Z').iso).toBe('2025-03-01T15:04:05.123Z');
    expect(decodeZonedTimestamp('2025-03-01T15:04:05.999999999Z').iso).toBe('2025-03-01T15:04:05.999Z');
    expect(decodeZonedTimestamp('2025-03-01T10:04:05.5-05:00').iso).toBe('2025-03-01T15:04:05.500Z');
  });
  it('reads MicroTimestamp, Timestamp (ms) and NanoTimestamp, as numbers or lossless strings', () => {
    expect(decodeMicroTimestamp(1740841445123456).iso).toBe('2025-03-01T15:04:05.123Z');
    expect(decodeMicroTimestamp('1740841445123456').iso).toBe('2025-03-01T15:04:05.123Z');
    expect(decodeMicroTimestamp(-1).iso).toBe('1969-12-31T23:59:59.999Z');
    expect(decodeMilliTimestamp(1740841445123).iso).toBe('2025-03-01T15:04:05.123Z');
    expect(decodeNanoTimestamp('1740841445123456789').iso).toBe('2025-03-01T15:04:05.123Z');
  });
  it('reads Date days and MicroTime', () => {
    expect(decodeDateDays(0)).toBe('1970-01-01');
    expect(decodeDateDays(20148)).toBe('2025-03-01');
    expect(decodeDateDays(-1)).toBe('1969-12-31');
    expect(decodeMicroTime(54245123456)).toBe('15:04:05.123456');
  });
  it('rejects ±infinity and garbage', () => {
    expect(reasonOf(() => decodeMicroTimestamp('9223372036825200000'))).toBe('bad_timestamp');
    expect(reasonOf(() => decodeZonedTimestamp('yesterday'))).toBe('bad_timestamp');
    expect(reasonOf(() => decodeMicroTimestamp(1.5))).toBe('bad_timestamp');
  });
});

describe('decodeId', () => {
  it('keeps ids as canonical decimal strings', () => {
    expect(decodeId(42, 'id')).toBe('42');
    expect(decodeId('9007199254740993', 'id')).toBe('9007199254740993');
    expect(reasonOf(() => decodeId(1.5, 'id'))).toBe('bad_id');
    expect(reasonOf(() => decodeId(null, 'id'))).toBe('missing_field');
  });
});

describe('parseJsonLossless fast path and its fallback', () => {
  it('gives the same result as the exact scanner, also when a long digit run sits inside a string', () => {
    const tricky = [
      '{"a":[1234567890123456789, -9007199254740993],"b": 9007199254740993 }',
      '{"note":"x:1234567890123456789,","id":9007199254740993}', // looks like a token, is inside a string
      '{"note":"[12345678901234567]","v":[1.12345678901234567,12345678901234567]}',
    ];
    for (const t of tricky) expect(parseJsonLossless(t)).toEqual(JSON.parse(quoteLongIntegers(t)));
    expect(parseJsonLossless(tricky[1]!)).toEqual({ note: 'x:1234567890123456789,', id: '9007199254740993' });
  });
});
