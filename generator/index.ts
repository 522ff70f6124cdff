// The generator's public API (used by `npm start`, the end-to-end tests and the benchmark).
export {
  runGenerator,
  SchemaNotReadyError,
  type GeneratorOptions,
  type GeneratorStats,
  type GeneratorSummary,
} from './writeLoop.ts';
export { parseGeneratorArgs, UsageError, USAGE } from './cli.ts';
export { EventStream, type GenEvent, type StreamOptions } from './eventStream.ts';
export { nextLifecycleState, planLifecycle, type LifecycleState, type LifecycleEvent } from './lifecycle.ts';
export { buildOrderTotals, centsToDecimal, decimalToCents } from './money.ts';
export { createGeocoder } from './geo/geocoder.ts';
