// The local server's PromQL path, pure: a panel's own query with the range bound as Grafana binds it, and
// Prometheus' answer as the rows the page draws (legendFormat, NaN as no value, sorted).
import { describe, expect, it } from 'vitest';
import type { SavedDashboard } from '../../grafana/src/dashboardFiles.ts';
import { prometheusTarget } from '../../grafana/src/panelKit.ts';
import { bindPrometheusQuery, promTable, seriesName } from '../../dashboard-server/prometheusQueries.ts';
import { QueryRequestError } from '../../dashboard-server/panelQueries.ts';

const dashboard = (expr: string, instant = false) =>
  ({
    uid: 'd',
    panels: [{ id: 1, type: 'timeseries', targets: [prometheusTarget(expr, { legend: '{{job}}', instant })] }],
  }) as unknown as SavedDashboard;

describe('bindPrometheusQuery', () => {
  it('binds $__rate_interval (≥ 4 scrapes, step + 1 scrape) and $__range, with a step for about 300 points', () => {
    const hour = bindPrometheusQuery(
      dashboard('rate(x[$__rate_interval]) + increase(y[$__range])'),
      1,
      'A',
      0,
      3_600_000,
    )!;
    expect(hour).toMatchObject({ startS: 0, endS: 3600, stepS: 12, instant: false, legendFormat: '{{job}}' });
    expect(hour.expr).toBe('rate(x[20s]) + increase(y[3600s])');
    const day = bindPrometheusQuery(dashboard('rate(x[$__rate_interval])'), 1, 'A', 0, 86_400_000)!;
    expect([day.stepS, day.expr]).toEqual([288, 'rate(x[293s])']);
    const fiveMin = bindPrometheusQuery(dashboard('x'), 1, 'A', 0, 300_000)!;
    expect(fiveMin.stepS).toBe(5);
  });

  it('keeps PromQL capture groups, refuses other Grafana variables, and is undefined for a Druid panel', () => {
    expect(
      bindPrometheusQuery(dashboard('label_replace(x, "t", "task $1", "task", "(.*)")'), 1, 'A', 0, 1000)!.expr,
    ).toBe('label_replace(x, "t", "task $1", "task", "(.*)")');
    expect(() => bindPrometheusQuery(dashboard('x{job="$job"}[${__interval}]'), 1, 'A', 0, 1000)).toThrow(
      QueryRequestError,
    );
    expect(bindPrometheusQuery(dashboard('x'), 2, 'A', 0, 1000)).toBeUndefined();
  });
});

describe('promTable', () => {
  const bound = { expr: 'up', legendFormat: '{{job}}', startS: 0, endS: 10, stepS: 5 };
  it('a range answer: one row per sample, time in ISO, series by legend, NaN as no value, ordered', () => {
    const t = promTable(
      {
        resultType: 'matrix',
        result: [
          {
            metric: { job: 'kafka' },
            values: [
              [0, '1'],
              [5, 'NaN'],
            ],
          },
          { metric: { job: 'connect' }, values: [[5, '0']] },
        ],
      },
      { ...bound, instant: false },
    );
    expect(t.columns.map((c) => [c.name, c.sqlType])).toEqual([
      ['time', 'TIMESTAMP'],
      ['series', 'VARCHAR'],
      ['value', 'DOUBLE'],
    ]);
    expect(t.rows).toEqual([
      ['1970-01-01T00:00:00.000Z', 'kafka', 1],
      ['1970-01-01T00:00:05.000Z', 'connect', 0],
      ['1970-01-01T00:00:05.000Z', 'kafka', null],
    ]);
  });

  it('an instant answer: one row per series, its value at the range end', () => {
    const t = promTable(
      {
        resultType: 'vector',
        result: [
          { metric: { job: 'transformer' }, value: [10, '1'] },
          { metric: { job: 'postgres' }, value: [10, '0'] },
        ],
      },
      { ...bound, instant: true },
    );
    expect(t.rows).toEqual([
      ['postgres', 0],
      ['transformer', 1],
    ]);
  });

  it('names a series as Grafana does without a legend: the metric and its labels', () => {
    expect(seriesName({ __name__: 'up', job: 'kafka', instance: 'a:1' }, '')).toBe('up{job="kafka", instance="a:1"}');
    expect(seriesName({ le: '0.5' }, '__auto')).toBe('{le="0.5"}');
    expect(seriesName({ topic: 't', partition: '2' }, '{{topic}}/{{ partition }}')).toBe('t/2');
  });
});
