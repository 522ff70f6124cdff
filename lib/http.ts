// HTTP for the clients of lib/ (Kafka Connect, Druid, Grafana, our own services): one health probe, one way
// to read a server's error text, one request helper that never throws on a status (the caller decides).
import axios, { type AxiosRequestConfig, type AxiosResponse } from 'axios';

/** True when `url` answers 200 within `timeoutMs` (and `check` accepts its body); never throws. */
export async function httpOk(url: string, check?: (data: unknown) => boolean, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await axios.get(url, { timeout: timeoutMs, validateStatus: () => true });
    return res.status === 200 && (check ? check(res.data) : true);
  } catch {
    return false;
  }
}

/** The server's own error text (Connect: {message}, Druid: {error, errorMessage}), not just the status. */
export function serverMessage(res: Pick<AxiosResponse, 'status' | 'data'>): string {
  const d = res.data as unknown;
  if (d && typeof d === 'object') {
    const o = d as Record<string, unknown>;
    const parts = [o.message, o.error, o.errorMessage, o.errorClass].filter(
      (x) => typeof x === 'string' && x.length > 0,
    );
    if (parts.length) return `HTTP ${res.status}: ${parts.join(' — ')}`;
    return `HTTP ${res.status}: ${JSON.stringify(d).slice(0, 2000)}`;
  }
  return `HTTP ${res.status}: ${String(d ?? '').slice(0, 2000)}`;
}

export interface HttpRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
  readonly body?: unknown;
  readonly timeoutMs?: number;
  readonly headers?: Record<string, string>;
  readonly auth?: AxiosRequestConfig['auth'];
}

/** One request; any status is an answer (the caller reads it). A connection failure throws axios' error. */
export async function httpRequest<T = unknown>(req: HttpRequest): Promise<AxiosResponse<T>> {
  return axios.request<T>({
    method: req.method,
    url: req.url,
    data: req.body,
    headers: req.headers,
    auth: req.auth,
    timeout: req.timeoutMs ?? 10_000,
    validateStatus: () => true,
  });
}
