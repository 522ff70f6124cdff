// Flag parsing: valid runs, and usage errors that name the valid values.
import { DEFAULT_RISK_SHARE } from '../../generator/eventStream.ts';
import { describe, expect, it } from 'vitest';
import { parseDuration, parseGeneratorArgs, UsageError } from '../../generator/cli.ts';
import { lookupGazetteer } from '../../generator/geo/offlineProvider.ts';
import { createGeocoder } from '../../generator/geo/geocoder.ts';

describe('parseGeneratorArgs', () => {
  it('parses a full command line', () => {
    expect(
      parseGeneratorArgs([
        '--rate',
        '50',
        '--orders',
        '1000',
        '--seed',
        'demo',
        '--speedup=60',
        '--start',
        '2025-03-14T11:00:00Z',
        '--curve',
        'flat',
        '--connections',
        '2',
        '--batch',
        '1',
        '--risk-share',
        '0.01',
      ]),
    ).toEqual({
      rate: 50,
      orders: 1000,
      seed: 'demo',
      speedup: 60,
      start: new Date('2025-03-14T11:00:00Z'),
      curve: 'flat',
      connections: 2,
      maxEventsPerTransaction: 1,
      riskShare: 0.01,
    });
    // Without --risk-share the command line injects the default small share.
    expect(parseGeneratorArgs(['--rate', '2.5', '--duration', '1h30m'])).toEqual({
      rate: 2.5,
      durationMs: 5_400_000,
      riskShare: DEFAULT_RISK_SHARE,
    });
    expect(parseGeneratorArgs(['--rate', '10', '--stores', '50', '--customers', '500', '--risk-share', '0'])).toEqual({
      rate: 10,
      scale: { stores: 50, customers: 500 },
      riskShare: 0,
    });
  });

  it('explains what is wrong and what is valid', () => {
    const err = (argv: string[]) => {
      try {
        parseGeneratorArgs(argv);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      throw new Error('expected a UsageError');
    };
    expect(err([])).toMatch(/--rate is required/);
    expect(err(['--rate', '0'])).toMatch(/--rate "0" is not valid: expected a number of orders per second > 0/);
    expect(err(['--rate', 'fast'])).toMatch(/expected a number/);
    expect(err(['--rate', '5', '--orders', '1.5'])).toMatch(/--orders "1.5" is not valid: expected an integer ≥ 1/);
    expect(err(['--rate', '5', '--curve', 'spiky'])).toMatch(/expected daily or flat/);
    expect(err(['--rate', '5', '--duration', '10 minutes'])).toMatch(/90s, 10m, 2h or 1h30m/);
    expect(err(['--rate', '5', '--orders', '10', '--duration', '1m'])).toMatch(/either --orders or --duration/);
    expect(err(['--rate', '5', '--turbo'])).toMatch(
      /Unknown option "--turbo". Valid options: --rate, --orders, --duration/,
    );
    expect(err(['--rate'])).toMatch(/--rate needs a value/);
    expect(err(['--rate', '5', '--speedup', '60'])).toMatch(
      /--speedup 60 without --start would write timestamps in the future.*npm start/,
    );
  });

  it('parses durations', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1500ms')).toBe(1500);
    expect(() => parseDuration('0s')).toThrow(UsageError);
    expect(() => parseDuration('10x')).toThrow(UsageError);
  });
});

describe('offline geocoder', () => {
  it('finds cities and neighbourhoods with or without accents and country', () => {
    expect(lookupGazetteer('Pinheiros, São Paulo, Brasil')[0]).toMatchObject({
      latitude: -23.566667,
      longitude: -46.693056,
      countryCode: 'BR',
      neighbourhood: 'Pinheiros',
    });
    expect(lookupGazetteer('bogota')[0]).toMatchObject({
      latitude: 4.710989,
      longitude: -74.072092,
      countryCode: 'CO',
    });
    expect(lookupGazetteer('Lima, Perú')[0]).toMatchObject({ city: 'Lima', countryCode: 'PE' });
    expect(lookupGazetteer('Atlantis')).toEqual([]);
  });

  it('answers through node-geocoder with no network', async () => {
    const geocoder = createGeocoder({ provider: 'offline' });
    expect(await geocoder.geocode('Ciudad de México, México')).toMatchObject({
      latitude: 19.432608,
      longitude: -99.133209,
    });
    expect(await geocoder.geocode('Nowhere, Narnia')).toBeNull();
  });
});
