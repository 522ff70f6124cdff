import { describe, expect, it } from 'vitest';
import { datasourceScopes, joinBases, unknownColumnsInScope } from './sqlColumns.ts';

const STOCK = new Set(['product_id', 'units', 'stock_state']);
const MOVES = new Set(['product_id', 'units_out', '__time']);
const COLUMNS: Record<string, ReadonlySet<string>> = { stock_now: STOCK, stock_movements: MOVES };

function unknownPerTable(sql: string): Record<string, string[]> {
  return Object.fromEntries(datasourceScopes(sql).map((s) => [s.table, unknownColumnsInScope(s, COLUMNS[s.table]!)]));
}

describe('unknownColumnsInScope in a join', () => {
  const join = (outer: string, inner: string) =>
    `SELECT SUM(s.${outer}) AS u, MAX(m.sold) AS sold FROM stock_now AS s LEFT JOIN ` +
    `(SELECT product_id, SUM(${inner}) AS sold FROM stock_movements GROUP BY 1) AS m ON s.product_id = m.product_id ` +
    `WHERE s.stock_state = 'low' GROUP BY s.product_id`;

  it("checks the table alias's columns against the table and leaves the subquery's to its own scope", () => {
    expect(unknownPerTable(join('units', 'units_out'))).toEqual({ stock_now: [], stock_movements: [] });
  });

  it('names a column the table does not have, on either side', () => {
    expect(unknownPerTable(join('units_out', 'units'))).toEqual({
      stock_now: ['units_out'],
      stock_movements: ['units'],
    });
  });

  it('names a qualifier that is neither the table nor a joined subquery', () => {
    const sql = 'SELECT SUM(x.units) AS u FROM stock_now AS s';
    expect(unknownPerTable(sql)).toEqual({ stock_now: ['x.units'] });
  });
});

describe('joinBases', () => {
  it('tells a join onto a table from a join of two subqueries', () => {
    const sub = '(SELECT product_id, SUM(units_out) AS sold FROM stock_movements GROUP BY 1)';
    expect(joinBases(`SELECT 1 FROM stock_now AS s LEFT JOIN ${sub} AS m ON s.product_id = m.product_id`)).toEqual([
      'table',
    ]);
    expect(joinBases(`SELECT 1 FROM (SELECT product_id FROM stock_now) AS s JOIN ${sub} AS m ON 1 = 1`)).toEqual([
      'subquery',
    ]);
    expect(joinBases('SELECT COUNT(*) AS n FROM stock_now')).toEqual([]);
  });
});
