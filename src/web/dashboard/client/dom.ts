// A few DOM helpers. Values from the API only ever become text nodes (textContent), never HTML.

export function $<T extends HTMLElement = HTMLElement>(selector: string, root: ParentNode = document): T {
  const el = root.querySelector<T>(selector);
  if (!el) throw new Error(`dashboard: no element ${selector}`);
  return el;
}

type Child = Node | string | number | null | undefined;

/** h('td', {class: 'num'}, '3') — attributes set with setAttribute, children as text or nodes. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined) el.append(typeof c === 'object' ? c : String(c));
  return el;
}

export function row(cells: Child[], attrs: Record<string, string> = {}): HTMLTableRowElement {
  return h('tr', attrs, ...cells.map((c) => h('td', {}, c)));
}

export function fill(tbody: HTMLElement, rows: Node[]): void {
  tbody.replaceChildren(...rows);
}

/** The banner under the header: an error (role=alert) or a short confirmation. */
export function say(text: string, kind: 'error' | 'info' = 'info'): void {
  const m = $('#message');
  m.textContent = text;
  m.className = kind;
  m.hidden = false;
}

export function clearMessage(): void {
  $('#message').hidden = true;
}

/** An API error as the server put it: "FORBIDDEN (403): request req_…: 'bob' requested it and cannot also approve it …". */
export function sayError(err: unknown): void {
  const e = err as { code?: string; status?: number; message?: string };
  say(e.code ? `${e.code}${e.status ? ` (${e.status})` : ''}: ${e.message}` : String(e.message ?? err), 'error');
}

/** Shows elements marked data-roles="…" only to those roles (the server still checks every call).
 *  Inside the request panel the request's state matters too: requests.ts and jobs.ts decide there. */
export function gateByRole(role: string | null): void {
  for (const el of document.querySelectorAll<HTMLElement>('[data-roles]'))
    if (!el.closest('#detail')) el.hidden = !role || !el.dataset.roles!.split(' ').includes(role);
}

export const when = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC') : '—');
