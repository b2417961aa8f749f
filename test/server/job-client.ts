// Helpers for tests that drive jobs over real HTTP: JSON calls with a bearer token, the server-sent
// event stream read through fetch() streaming (as the dashboard reads it), and waiting for a job.
import assert from 'node:assert/strict';

export interface SseEvent {
  event: string;
  data: {
    id: string;
    state: string;
    progress: { phase: string; step: number | null; totalSteps: number | null; loss: number | null; resumedFrom: number | null };
    attempts: number;
  };
}

export function client(base: string) {
  const call = async (method: 'GET' | 'POST', path: string, token?: string, body?: unknown) => {
    const r = await fetch(base + path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON (the HTML certificate) */
    }
    return { status: r.status, type: r.headers.get('content-type') ?? '', text, json: json as Record<string, any> };
  };

  /** Reads a job's event stream until it closes (or `until` says stop, then aborts it). */
  const events = async (
    jobId: string,
    token: string,
    until?: (e: SseEvent) => boolean,
    timeoutMs = 120_000,
  ): Promise<{ events: SseEvent[]; raw: string }> => {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    const r = await fetch(`${base}/v1/jobs/${jobId}/events`, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
    const out: SseEvent[] = [];
    let raw = '';
    let buf = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of r.body! as unknown as AsyncIterable<Uint8Array>) {
        const text = decoder.decode(chunk, { stream: true });
        raw += text;
        buf += text;
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (!event || !data) continue;
          const e = { event, data: JSON.parse(data) } as SseEvent;
          out.push(e);
          if (until?.(e)) {
            ac.abort();
            return { events: out, raw };
          }
        }
      }
    } catch (err) {
      if (!ac.signal.aborted) throw err;
      if (!until) throw new Error(`the event stream of ${jobId} did not end within ${timeoutMs} ms`);
    } finally {
      clearTimeout(timer);
    }
    return { events: out, raw };
  };

  /** Polls GET /v1/jobs/:id until `ok` holds. */
  const waitJob = async (jobId: string, token: string, ok: (j: Record<string, any>) => boolean, timeoutMs = 120_000) => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const j = (await call('GET', `/v1/jobs/${jobId}`, token)).json;
      if (ok(j)) return j;
      if (Date.now() > end) assert.fail(`job ${jobId}: still ${JSON.stringify(j)} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { call, events, waitJob };
}
