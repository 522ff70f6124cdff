// The one client of the transformer's HTTP endpoints (/health, /metrics.json), for the stack's supervisor,
// status, benchmarks and tests. The transformer serves them on 127.0.0.1 at its metrics port.
import { httpOk, httpRequest } from './http.ts';
import { PulsoError } from './errors.ts';

/** What /health answers: its status (running, restoring, crash-looping…) and the state re-read's progress. */
export interface TransformerHealthBody {
  readonly status?: string;
  readonly consumer_crashes?: number;
  readonly last_error?: string | null;
  readonly restored?: number;
  readonly to_restore?: number;
}

const base = (port: number) => `http://127.0.0.1:${port}`;

/** True when the instance answers /health with 200. */
export function transformerAnswers(port: number, timeoutMs = 3000): Promise<boolean> {
  return httpOk(`${base(port)}/health`, undefined, timeoutMs);
}

/** Its /health body, whatever the status code (503 says why), or undefined when it does not answer. */
export async function transformerHealth(port: number, timeoutMs = 2000): Promise<TransformerHealthBody | undefined> {
  const res = await httpRequest<TransformerHealthBody>({
    method: 'GET',
    url: `${base(port)}/health`,
    timeoutMs,
  }).catch(() => undefined);
  return res?.data;
}

/** Its metrics snapshot (/metrics.json); a retriable error when the instance does not answer. */
export async function transformerMetrics<T = Record<string, any>>(port: number, timeoutMs = 2000): Promise<T> {
  const res = await httpRequest<T>({ method: 'GET', url: `${base(port)}/metrics.json`, timeoutMs }).catch(
    (e: unknown) => {
      throw new PulsoError(`the transformer at ${base(port)} did not answer: ${(e as Error).message}`, {
        retriable: true,
        cause: e,
      });
    },
  );
  if (res.status !== 200)
    throw new PulsoError(`the transformer at ${base(port)} answered ${res.status}`, { retriable: true });
  return res.data;
}
