// timeRange.js is a classic browser script: importing it defines globalThis.PulsoTimeRange (the unit tests do).
export {};
