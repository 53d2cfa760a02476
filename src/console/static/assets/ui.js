// @ts-check
// DOM helpers: elements are built with textContent only (no HTML strings), so device-reported
// values can never inject markup.

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
    } else if (key === 'className') {
      el.className = String(value);
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

/** @param {Element} el @param {(Child | Child[])[]} children */
function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** @param {Element} el @param {...(Child | Child[])} children */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** @param {string} text */
export const loading = (text = 'Loading…') => h('p', { className: 'state loading', role: 'status' }, text);
/** @param {string} text */
export const empty = (text) => h('p', { className: 'state empty' }, text);
/** @param {unknown} err */
export const failure = (err) =>
  h(
    'p',
    { className: 'state error', role: 'alert' },
    `Could not load: ${err instanceof Error ? err.message : String(err)}`,
  );

/** @param {string | null | undefined} state */
export const badge = (state) =>
  h('span', { className: `badge s-${String(state ?? 'unknown').toLowerCase()}` }, state ?? 'unknown');

/** @param {string | null | undefined} iso */
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace('T', ' ').slice(0, 19);
}

/** Announces `text` to screen readers. @param {string} text */
export function announce(text) {
  const live = document.getElementById('live');
  if (live) live.textContent = text;
}

/**
 * A table with a caption; `columns` name the header cells and `row` builds one row's cells.
 * @template T
 * @param {string} caption
 * @param {string[]} columns
 * @param {readonly T[]} rows
 * @param {(r: T) => (Child | Child[])[]} row
 */
export function table(caption, columns, rows, row) {
  return h(
    'div',
    { className: 'table-wrap' },
    h(
      'table',
      {},
      h('caption', { className: 'visually-hidden' }, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          columns.map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h(
            'tr',
            {},
            row(r).map((cell) => h('td', {}, cell)),
          ),
        ),
      ),
    ),
  );
}

/** `dl` of label → value pairs. @param {[string, Child][]} pairs */
export const keyValues = (pairs) =>
  h(
    'dl',
    { className: 'kv' },
    pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]),
  );

/**
 * A bar chart (SVG) with a text alternative.
 * @param {string} label
 * @param {{ label: string, value: number }[]} bars
 */
export function barChart(label, bars) {
  const ns = 'http://www.w3.org/2000/svg';
  const width = 720;
  const height = 160;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const w = width / Math.max(1, bars.length);
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height + 20}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${label}: ${bars.map((b) => `${b.label} ${b.value}`).join(', ')}`);
  bars.forEach((b, i) => {
    const bh = Math.round((b.value / max) * height);
    const rect = document.createElementNS(ns, 'rect');
    rect.setAttribute('class', 'bar');
    rect.setAttribute('x', String(i * w + 2));
    rect.setAttribute('y', String(height - bh));
    rect.setAttribute('width', String(Math.max(1, w - 4)));
    rect.setAttribute('height', String(bh));
    const title = document.createElementNS(ns, 'title');
    title.textContent = `${b.label}: ${b.value}`;
    rect.append(title);
    svg.append(rect);
    if (i % 3 === 0) {
      const text = document.createElementNS(ns, 'text');
      text.setAttribute('x', String(i * w + 2));
      text.setAttribute('y', String(height + 14));
      text.textContent = b.label;
      svg.append(text);
    }
  });
  return svg;
}
