/**
 * What a failed call of @kubernetes/client-node means: its ApiException carries the HTTP status
 * (`code`) and the API server's Status (`body`); a request that got no answer is undici's
 * `TypeError: fetch failed` whose cause has a system code. Apart from cluster.ts so that the
 * controller reads errors without loading the (ESM-only) client.
 */

/** The HTTP status of the API server's answer, if there was one. */
export function httpStatus(e: unknown): number | undefined {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The system or undici error code of a request that got no HTTP answer (ECONNREFUSED, UND_ERR_SOCKET, ...). */
function networkCode(e: unknown): string | undefined {
  for (let cause = e as { code?: unknown; cause?: unknown } | undefined, depth = 0; cause && depth < 4; cause = cause.cause as typeof cause, depth++) {
    if (typeof cause.code === 'string') return cause.code;
  }
  return undefined;
}

/**
 * Whether a cluster call may succeed if simply tried again: no HTTP answer at all (connection
 * refused or reset, timeouts: the API server restarting or unreachable), 5xx, or 429 (API
 * priority and fairness). A 4xx other than 429 is the API server's verdict on the request.
 */
export function transientClusterError(e: unknown): boolean {
  const code = httpStatus(e);
  if (code !== undefined) return code >= 500 || code === 429;
  return networkCode(e) !== undefined || (e instanceof TypeError && e.message === 'fetch failed');
}

/** One line for the log: `HTTP 422: <the API server's message>` or the network error's code and message. */
export function clusterErrorText(e: unknown): string {
  const code = httpStatus(e);
  if (code !== undefined) {
    let body = (e as { body?: unknown }).body;
    if (typeof body === 'string') {
      try { body = JSON.parse(body); } catch { /* not JSON: shown as it is */ }
    }
    const message = typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string'
      ? (body as { message: string }).message : String(body ?? '').slice(0, 300);
    return `HTTP ${code}${message ? `: ${message}` : ''}`;
  }
  const net = networkCode(e);
  const message = (e as Error)?.message ?? String(e);
  const cause = ((e as { cause?: Error })?.cause)?.message;
  return [net, message, cause && cause !== message ? cause : undefined].filter((x) => x).join(': ').replace(/\s+/g, ' ');
}
