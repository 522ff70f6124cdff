// PostgreSQL array literals built by hand: one text parameter per column for `unnest($n::type[])`.
// Cheaper than node-postgres's generic array serialiser on the hot path, and exact (ids and decimals
// are passed as the decimal text they already are).

/** {1,2,3} for ids, integers, decimal text, booleans and enum labels (values that need no quoting). */
export function plainArray(values: readonly (string | number | boolean)[]): string {
  return `{${values.join(',')}}`;
}

/** {"a","b\"c",NULL} for free text. */
export function textArray(values: readonly (string | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i) out += ',';
    const v = values[i];
    out += v === null || v === undefined ? 'NULL' : `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  }
  return out + '}';
}
