// The dashboard's only way to data: the /v1 API with the pasted bearer token. The token lives in
// sessionStorage (this tab, until it closes) and nothing else is ever stored in the browser — no
// request bodies, no subjects. Errors keep the API's code and message so the page can show them
// as the server wrote them (four-eyes refusals name who may not approve and why).

const TOKEN_KEY = 'lethe.token';

export const tokenStore = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (t: string): void => sessionStorage.setItem(TOKEN_KEY, t),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const t = tokenStore.get();
  return { ...(t ? { authorization: `Bearer ${t}` } : {}), ...extra };
}

async function failure(res: Response): Promise<ApiError> {
  let body: { error?: string; message?: string; field?: string } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    // not JSON: the status line says enough
  }
  return new ApiError(res.status, body.error ?? `HTTP ${res.status}`, body.message ?? res.statusText, body.field);
}

export async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    cache: 'no-store',
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

/** A page of HTML from the API (the certificate), fetched with the token since an iframe cannot send it. */
export async function apiText(path: string): Promise<string> {
  const res = await fetch(path, { headers: headers(), cache: 'no-store' });
  if (!res.ok) throw await failure(res);
  return res.text();
}

export interface ServerEvent {
  event: string;
  data: unknown;
}

/**
 * Server-sent events read through fetch() and a streaming body reader: EventSource cannot send an
 * Authorization header. Yields each event as {event, data (parsed JSON, else the text)} until the
 * stream ends or `signal` aborts.
 */
export async function* serverEvents(path: string, signal: AbortSignal): AsyncGenerator<ServerEvent> {
  const res = await fetch(path, { headers: headers({ accept: 'text/event-stream' }), cache: 'no-store', signal });
  if (!res.ok || !res.body) throw await failure(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut: number;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, '');
      const event = parseBlock(block);
      if (event) yield event;
    }
  }
}

/** One SSE block: "event:" names it (default "message"), "data:" lines join with newlines; ":" lines are comments. */
function parseBlock(block: string): ServerEvent | null {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(':')) continue;
    const m = /^([^:]+):? ?(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'event') event = m[2]!;
    else if (m[1] === 'data') data.push(m[2]!);
  }
  if (!data.length) return null;
  const text = data.join('\n');
  try {
    return { event, data: JSON.parse(text) as unknown };
  } catch {
    return { event, data: text };
  }
}
