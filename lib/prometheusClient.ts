// Prometheus' HTTP API (v1): instant and range queries, the alerts being evaluated, the scrape targets. The one
// client of Prometheus; one error, PrometheusError, with Prometheus' own text.
import { PulsoError } from './errors.ts';
import { httpRequest } from './http.ts';

export class PrometheusError extends PulsoError {
  constructor(
    message: string,
    readonly status: number,
    cause?: unknown,
  ) {
    // Not answering, or a 5xx (it is starting, or overloaded), may pass; a 400 (a bad query) will not.
    super(message, { retriable: status === 0 || status >= 500, cause });
  }
}

interface ApiAnswer<T> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
}

async function prometheusGet<T>(url: string, path: string, params: Record<string, string>, timeoutMs = 10_000) {
  const res = await httpRequest<ApiAnswer<T>>({
    method: 'GET',
    url: `${url}${path}?${new URLSearchParams(params).toString()}`,
    timeoutMs,
  }).catch((e: unknown) => {
    throw new PrometheusError(`Prometheus at ${url} did not answer: ${(e as Error).message}`, 0, e);
  });
  if (res.status !== 200 || res.data?.status !== 'success')
    throw new PrometheusError(
      `Prometheus ${path} failed (HTTP ${res.status}: ${res.data?.errorType ?? ''} ${res.data?.error ?? ''})`.trim(),
      res.status,
    );
  return res.data.data as T;
}

/** One series of a query's answer: its labels and its samples [seconds, "value"]. */
export interface PromSeries {
  readonly metric: Record<string, string>;
  readonly values?: [number, string][];
  readonly value?: [number, string];
}

export interface PromQueryAnswer {
  readonly resultType: 'matrix' | 'vector' | 'scalar' | 'string';
  readonly result: PromSeries[];
}

export function queryPrometheus(url: string, expr: string, timeS?: number): Promise<PromQueryAnswer> {
  return prometheusGet(url, '/api/v1/query', { query: expr, ...(timeS === undefined ? {} : { time: String(timeS) }) });
}

export function queryPrometheusRange(
  url: string,
  expr: string,
  range: { startS: number; endS: number; stepS: number },
): Promise<PromQueryAnswer> {
  return prometheusGet(url, '/api/v1/query_range', {
    query: expr,
    start: String(range.startS),
    end: String(range.endS),
    step: String(range.stepS),
  });
}

export interface PromAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly state: 'pending' | 'firing' | 'inactive';
  readonly activeAt: string;
  readonly value: string;
}

/** The alerts pending or firing now. */
export async function prometheusAlerts(url: string, timeoutMs = 3000): Promise<PromAlert[]> {
  return (await prometheusGet<{ alerts: PromAlert[] }>(url, '/api/v1/alerts', {}, timeoutMs)).alerts;
}

export interface PromTarget {
  readonly labels: Record<string, string>;
  readonly scrapeUrl: string;
  readonly health: 'up' | 'down' | 'unknown';
  readonly lastError: string;
}

export async function prometheusTargets(url: string): Promise<PromTarget[]> {
  return (await prometheusGet<{ activeTargets: PromTarget[] }>(url, '/api/v1/targets', { state: 'active' }))
    .activeTargets;
}
