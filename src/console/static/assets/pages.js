// @ts-check
// The console's pages. Each renders into `main` from admin API responses (docs/api.md); the
// endpoints used are exactly the ones a script would call.
import { ApiError, can, enc, get, post, query, request } from './api.js';
import {
  announce,
  badge,
  barChart,
  empty,
  failure,
  h,
  keyValues,
  loading,
  replace,
  table,
  when,
} from './ui.js';

/** @typedef {(main: HTMLElement, args: string[]) => Promise<void>} Page */

const DAY = 86_400_000;

/** @param {HTMLElement} main @param {string} title @param {...any} rest */
function page(main, title, ...rest) {
  document.title = `${title} · MDM console`;
  replace(main, h('h1', {}, title), ...rest);
}

/** @param {Record<string, number>} counts */
const countRows = (counts) =>
  Object.entries(counts)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);

/** @type {Page} */
async function dashboard(main) {
  const body = h('div', {}, loading());
  page(main, 'Dashboard', body);
  /** @type {{ devices: any[] }} */
  const report = await get('/api/v1/compliance');
  const devices = report.devices;
  if (devices.length === 0) {
    replace(body, empty('No devices are enrolled yet. Enroll one to see it here.'));
    return;
  }
  /** @type {Record<string, number>} */
  const byCompliance = {};
  /** @type {Record<string, number>} */
  const bySetting = {};
  for (const d of devices) {
    byCompliance[d.state] = (byCompliance[d.state] ?? 0) + 1;
    for (const [state, n] of Object.entries(d.settings ?? {}))
      bySetting[state] = (bySetting[state] ?? 0) + Number(n);
  }
  const now = Date.now();
  const hours = Array.from({ length: 24 }, (_, i) => {
    const start = now - (24 - i) * 3_600_000;
    return { label: `${new Date(start).getUTCHours().toString().padStart(2, '0')}h`, start, value: 0 };
  });
  for (const d of devices) {
    const t = d.lastCheckInAt ? Date.parse(d.lastCheckInAt) : Number.NaN;
    if (!(t >= now - DAY)) continue;
    const slot = hours[Math.min(23, Math.floor((t - (now - DAY)) / 3_600_000))];
    if (slot) slot.value++;
  }
  const daysInput = h('input', { id: 'stale-days', type: 'number', min: 1, max: 365, value: 7, size: 4 });
  const staleOut = h('div', {});
  const renderStale = () => {
    const days = Math.max(1, Number(/** @type {HTMLInputElement} */ (daysInput).value) || 7);
    const cutoff = now - days * DAY;
    const stale = devices.filter((d) => !d.lastCheckInAt || Date.parse(d.lastCheckInAt) < cutoff);
    replace(
      staleOut,
      h('p', { className: 'big', 'data-testid': 'stale-count' }, stale.length),
      stale.length === 0
        ? empty(`Every device checked in within ${days} days.`)
        : table('Devices not seen', ['Device', 'Last check-in'], stale.slice(0, 10), (d) => [
            h('a', { href: `#/device/${enc(d.deviceId)}` }, d.deviceId),
            when(d.lastCheckInAt),
          ]),
    );
  };
  daysInput.addEventListener('input', renderStale);
  renderStale();
  const seen24 = hours.reduce((n, b) => n + b.value, 0);
  replace(
    body,
    h(
      'div',
      { className: 'grid' },
      h(
        'section',
        { className: 'card', 'aria-labelledby': 'd-total' },
        h('h2', { id: 'd-total' }, 'Devices'),
        h('p', { className: 'big', 'data-testid': 'device-count' }, devices.length),
      ),
      h(
        'section',
        { className: 'card', 'aria-labelledby': 'd-compliance' },
        h('h2', { id: 'd-compliance' }, 'By compliance state'),
        table('Devices by compliance state', ['State', 'Devices'], countRows(byCompliance), ([s, n]) => [
          badge(s),
          h('span', { 'data-testid': `compliance-${s}` }, n),
        ]),
      ),
      h(
        'section',
        { className: 'card', 'aria-labelledby': 'd-settings' },
        h('h2', { id: 'd-settings' }, 'Settings by state'),
        countRows(bySetting).length === 0
          ? empty('No settings delivered yet.')
          : table('Settings by delivery state', ['State', 'Settings'], countRows(bySetting), ([s, n]) => [
              badge(s),
              h('span', { 'data-testid': `setting-${s}` }, n),
            ]),
      ),
      h(
        'section',
        { className: 'card', 'aria-labelledby': 'd-stale' },
        h('h2', { id: 'd-stale' }, 'Not seen for'),
        h('label', { for: 'stale-days' }, 'Days'),
        daysInput,
        staleOut,
      ),
    ),
    h(
      'section',
      { className: 'card', 'aria-labelledby': 'd-checkins' },
      h('h2', { id: 'd-checkins' }, 'Check-ins over the last 24 hours'),
      h(
        'p',
        {},
        `Devices whose latest check-in falls in each hour (UTC): `,
        h('strong', { 'data-testid': 'checkins-24h' }, seen24),
      ),
      barChart('Check-ins per hour', hours),
    ),
    await failingSettings(),
  );
}

/** Failing settings by path, from the policies' status (one request per active policy). */
async function failingSettings() {
  const section = h(
    'section',
    { className: 'card', 'aria-labelledby': 'd-failing' },
    h('h2', { id: 'd-failing' }, 'Failing settings'),
  );
  try {
    const list = await get('/api/v1/policies');
    const policies = /** @type {any[]} */ (list.policies ?? list);
    /** @type {Record<string, number>} */
    const failing = {};
    for (const p of policies) {
      const status = await get(`/api/v1/policies/${enc(p.name)}/status`);
      for (const d of status.devices ?? []) {
        for (const s of d.settings ?? [])
          if (s.state === 'failed' || s.state === 'drifted') failing[s.path] = (failing[s.path] ?? 0) + 1;
      }
    }
    const rows = countRows(failing);
    section.append(
      rows.length === 0
        ? empty('No failing settings.')
        : table('Failing settings by count', ['Setting', 'Devices'], rows.slice(0, 20), ([p, n]) => [p, n]),
    );
  } catch (err) {
    section.append(failure(err));
  }
  return section;
}

/** @type {Page} */
async function devices(main) {
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const state = {
    search: params.get('search') ?? '',
    sort: 'lastCheckInAt',
    order: 'desc',
    cursor: '',
    history: /** @type {string[]} */ ([]),
  };
  const search = h('input', {
    id: 'device-search',
    type: 'search',
    value: state.search,
    placeholder: 'id, name or serial',
  });
  const out = h('div', {});
  const form = h(
    'form',
    { className: 'inline', role: 'search' },
    h('div', {}, h('label', { for: 'device-search' }, 'Search devices'), search),
    h('button', { type: 'submit' }, 'Search'),
  );
  const columns = [
    ['id', 'Device ID'],
    ['name', 'Name'],
    ['user', 'User'],
    ['osVersion', 'OS version'],
    ['compliance', 'Compliance'],
    ['lastCheckInAt', 'Last check-in'],
  ];
  const load = async () => {
    replace(out, loading('Loading devices…'));
    try {
      const res = await get(
        `/api/v1/devices${query({ search: state.search, sort: state.sort, order: state.order, limit: 50, cursor: state.cursor })}`,
      );
      const rows = /** @type {any[]} */ (res.devices ?? res.items ?? []);
      const header = h(
        'tr',
        {},
        columns.map(([key, label]) =>
          h(
            'th',
            {
              scope: 'col',
              'aria-sort':
                state.sort === key ? (state.order === 'asc' ? 'ascending' : 'descending') : undefined,
            },
            h(
              'button',
              {
                type: 'button',
                onclick: () => {
                  state.order = state.sort === key && state.order === 'asc' ? 'desc' : 'asc';
                  state.sort = /** @type {string} */ (key);
                  state.cursor = '';
                  state.history = [];
                  load();
                },
              },
              label,
            ),
          ),
        ),
      );
      const next = res.nextCursor ?? res.next_cursor ?? null;
      replace(
        out,
        rows.length === 0
          ? empty(state.search ? `No device matches “${state.search}”.` : 'No devices are enrolled yet.')
          : h(
              'div',
              { className: 'table-wrap' },
              h(
                'table',
                {},
                h('caption', { className: 'visually-hidden' }, 'Devices'),
                h('thead', {}, header),
                h(
                  'tbody',
                  {},
                  rows.map((d) => {
                    const id = d.id ?? d.deviceId;
                    return h(
                      'tr',
                      {},
                      h('td', {}, h('a', { href: `#/device/${enc(id)}` }, id)),
                      h('td', {}, d.name ?? '—'),
                      h('td', {}, d.user ?? d.userUpn ?? '—'),
                      h('td', {}, d.osVersion ?? '—'),
                      h('td', {}, badge(d.compliance?.state ?? d.compliance ?? d.complianceState)),
                      h('td', {}, when(d.lastCheckInAt)),
                    );
                  }),
                ),
              ),
            ),
        h(
          'div',
          { className: 'pager' },
          h(
            'button',
            {
              type: 'button',
              className: 'secondary',
              disabled: state.history.length === 0,
              onclick: () => {
                state.cursor = state.history.pop() ?? '';
                load();
              },
            },
            'Previous page',
          ),
          h(
            'button',
            {
              type: 'button',
              className: 'secondary',
              disabled: !next,
              onclick: () => {
                state.history.push(state.cursor);
                state.cursor = next;
                load();
              },
            },
            'Next page',
          ),
          h(
            'span',
            { role: 'status' },
            `${rows.length} shown${res.total !== undefined ? ` of ${res.total}` : ''}`,
          ),
        ),
      );
      announce(`${rows.length} devices shown`);
    } catch (err) {
      replace(out, failure(err));
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    state.search = /** @type {HTMLInputElement} */ (search).value.trim();
    state.cursor = '';
    state.history = [];
    load();
  });
  page(main, 'Devices', form, out);
  await load();
}

/** @param {any} res */
const commandId = (res) => res?.id ?? res?.commandId;

/** @type {Page} */
async function device(main, [id]) {
  if (!id) return devices(main, []);
  page(main, `Device ${id}`, loading());
  const d = await get(`/api/v1/devices/${enc(id)}`);
  const outcome = h('div', { role: 'status', 'aria-live': 'polite', id: 'action-outcome' });
  const actions = h('div', { className: 'actions' });
  /** @param {string} label @param {string} action @param {unknown} [body] @param {string} [cls] */
  const act = (label, action, body, cls = 'secondary') =>
    h(
      'button',
      {
        type: 'button',
        className: cls,
        onclick: async () => {
          try {
            const res = await post(`/api/v1/devices/${enc(id)}/${action}`, body ?? {});
            replace(outcome, `${label}: queued${commandId(res) ? ` (command ${commandId(res)})` : ''}`);
            if (commandId(res)) watchCommand(commandId(res), outcome, label);
          } catch (err) {
            replace(
              outcome,
              h(
                'span',
                { className: 'diag' },
                `${label} refused: ${err instanceof Error ? err.message : err}`,
              ),
            );
          }
        },
      },
      label,
    );
  if (can.act()) {
    actions.append(act('Sync', 'sync'), act('Lock', 'lock'), act('Reboot', 'reboot'));
    const nameInput = h('input', { id: 'rename-input', value: d.name ?? '' });
    const renameForm = h(
      'form',
      { className: 'inline' },
      h('div', {}, h('label', { for: 'rename-input' }, 'Name'), nameInput),
      h('button', { type: 'submit', className: 'secondary' }, 'Rename'),
    );
    renameForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await request('POST', `/api/v1/devices/${enc(id)}/rename`, {
          name: /** @type {HTMLInputElement} */ (nameInput).value,
        });
        replace(outcome, 'Renamed.');
      } catch (err) {
        replace(
          outcome,
          h('span', { className: 'diag' }, `Rename refused: ${err instanceof Error ? err.message : err}`),
        );
      }
    });
    actions.append(renameForm);
  }
  if (can.wipe()) {
    const confirmInput = h('input', { id: 'wipe-confirm', autocomplete: 'off' });
    const wipeButton = h('button', { type: 'submit', className: 'danger', disabled: true }, 'Wipe device');
    confirmInput.addEventListener('input', () => {
      /** @type {HTMLButtonElement} */ (wipeButton).disabled =
        /** @type {HTMLInputElement} */ (confirmInput).value !== id;
    });
    const wipeForm = h(
      'form',
      { className: 'inline', 'aria-labelledby': 'wipe-title' },
      h('h2', { id: 'wipe-title', className: 'visually-hidden' }, 'Wipe'),
      h(
        'div',
        {},
        h('label', { for: 'wipe-confirm' }, `Type the device ID (${id}) to wipe it`),
        confirmInput,
      ),
      wipeButton,
    );
    wipeForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const res = await post(`/api/v1/devices/${enc(id)}/wipe`, { confirm: id });
        replace(outcome, `Wipe: queued${commandId(res) ? ` (command ${commandId(res)})` : ''}`);
        if (commandId(res)) watchCommand(commandId(res), outcome, 'Wipe');
      } catch (err) {
        replace(
          outcome,
          h('span', { className: 'diag' }, `Wipe refused: ${err instanceof Error ? err.message : err}`),
        );
      }
    });
    actions.append(wipeForm);
    actions.append(act('Unenroll', 'unenroll', {}, 'danger'));
  }
  const getForm = h('form', { className: 'inline' });
  if (can.act()) {
    const target = h('input', { id: 'get-target', value: './DevDetail/SwV', size: 40 });
    getForm.append(
      h('div', {}, h('label', { for: 'get-target' }, 'Read a node (Get)'), target),
      h('button', { type: 'submit' }, 'Queue Get'),
    );
    getForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const res = await post(`/api/v1/devices/${enc(id)}/commands`, {
          command: { verb: 'Get', items: [{ target: /** @type {HTMLInputElement} */ (target).value }] },
        });
        replace(outcome, `Get: queued (command ${commandId(res)})`);
        watchCommand(commandId(res), outcome, 'Get');
      } catch (err) {
        replace(
          outcome,
          h('span', { className: 'diag' }, `Get refused: ${err instanceof Error ? err.message : err}`),
        );
      }
    });
  }
  const inventory = d.inventory ?? {};
  const settings = /** @type {any[]} */ (d.settings ?? d.settingDetails ?? []);
  const commands = /** @type {any[]} */ (d.commands ?? d.recentCommands ?? []);
  const events = /** @type {any[]} */ (d.events ?? []);
  const certificates = /** @type {any[]} */ (d.certificates ?? []);
  page(
    main,
    `Device ${d.name ? `${d.name} (${id})` : id}`,
    h(
      'div',
      { className: 'grid' },
      h(
        'section',
        { className: 'card' },
        h('h2', {}, 'Summary'),
        keyValues([
          ['Device ID', id],
          ['Name', d.name ?? '—'],
          ['User', d.user ?? d.userUpn ?? '—'],
          ['OS version', d.osVersion ?? '—'],
          ['Compliance', badge(d.compliance?.state ?? d.compliance)],
          ['Last check-in', when(d.lastCheckInAt)],
          ['Status', d.status ?? (d.enrolled === false ? 'unenrolled' : 'enrolled')],
        ]),
      ),
      h(
        'section',
        { className: 'card' },
        h('h2', {}, 'Inventory'),
        Object.keys(inventory).length === 0
          ? empty('No inventory read yet.')
          : keyValues(
              Object.entries(inventory).map(([k, v]) => [
                k,
                typeof v === 'object' ? JSON.stringify(v) : String(v),
              ]),
            ),
      ),
    ),
    h(
      'section',
      {},
      h('h2', {}, 'Actions'),
      can.act() ? actions : empty('Your role can only read.'),
      getForm,
      outcome,
    ),
    h(
      'section',
      {},
      h('h2', {}, 'Settings'),
      settings.length === 0
        ? empty('No settings assigned.')
        : table(
            'Settings',
            ['Setting', 'Policy', 'Desired', 'Reported', 'State', 'Reason'],
            settings,
            (s) => [
              s.path,
              s.policy ?? '—',
              s.desiredValue ?? '—',
              s.reportedValue ?? '—',
              badge(s.state),
              s.reason ?? '',
            ],
          ),
    ),
    h(
      'section',
      {},
      h('h2', {}, 'Commands'),
      commands.length === 0
        ? empty('No commands yet.')
        : table('Commands', ['ID', 'Verb', 'Target', 'Status', 'Result', 'Updated'], commands, (c) => [
            c.id,
            c.verb ?? c.command?.verb ?? '',
            (c.items ?? c.command?.items ?? []).map((/** @type {any} */ i) => i.target).join(', '),
            badge(c.state ?? c.status),
            resultText(c),
            when(c.updatedAt ?? c.completedAt ?? c.createdAt),
          ]),
    ),
    h(
      'section',
      {},
      h('h2', {}, 'Events'),
      events.length === 0
        ? empty('No events yet.')
        : table('Events', ['When', 'Type', 'Details'], events, (e) => [
            when(e.at ?? e.createdAt),
            e.type ?? e.kind,
            JSON.stringify(e.details ?? e.data ?? {}),
          ]),
    ),
    h(
      'section',
      {},
      h('h2', {}, 'Certificates'),
      certificates.length === 0
        ? empty('No certificates listed.')
        : table('Certificates', ['Serial', 'Subject', 'Not after', 'Status'], certificates, (c) => [
            c.serial ?? c.serialNumber,
            c.subject ?? '',
            when(c.notAfter),
            c.status ?? (c.revokedAt ? 'revoked' : 'valid'),
          ]),
    ),
  );
}

/** @param {any} c */
function resultText(c) {
  const results = c.results ?? c.nodes ?? [];
  if (Array.isArray(results) && results.length > 0) {
    return results
      .map(
        (/** @type {any} */ r) =>
          `${r.target ?? r.locUri ?? ''}${r.status !== undefined ? ` [${r.status}]` : ''}${r.data !== undefined ? ` = ${r.data}` : ''}`,
      )
      .join('; ');
  }
  return c.result ?? c.statusCode ?? '';
}

/**
 * Polls a command until it is finished and shows its outcome.
 * @param {string | number} id @param {HTMLElement} out @param {string} label
 */
async function watchCommand(id, out, label) {
  for (let i = 0; i < 120; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    if (!out.isConnected) return;
    try {
      const c = await get(`/api/v1/commands/${enc(String(id))}`);
      const state = c.state ?? c.status;
      if (state && !['pending', 'queued', 'sent'].includes(state)) {
        replace(
          out,
          h(
            'span',
            { 'data-testid': 'command-outcome' },
            `${label} ${state}: `,
            h('span', { 'data-testid': 'command-result' }, resultText(c)),
          ),
        );
        return;
      }
      replace(out, `${label}: ${state ?? 'pending'} (waiting for the device to check in)`);
    } catch (err) {
      replace(out, failure(err));
      return;
    }
  }
}

/** @type {Page} */
async function policies(main, [name]) {
  if (name) return policy(main, name);
  page(main, 'Policies', loading());
  const list = await get('/api/v1/policies');
  const rows = /** @type {any[]} */ (list.policies ?? list);
  let revisions = /** @type {any[]} */ ([]);
  try {
    const r = await get('/api/v1/policies/revisions');
    revisions = r.revisions ?? r;
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
  page(
    main,
    'Policies',
    rows.length === 0
      ? empty('No policies applied yet. Write one in the policy editor.')
      : table('Policies', ['Policy', 'Version', 'Settings by state'], rows, (p) => [
          h('a', { href: `#/policies/${enc(p.name)}` }, p.name),
          p.version ?? '—',
          Object.entries(p.settings ?? p.counts ?? {})
            .map(([s, n]) => `${s} ${n}`)
            .join(', '),
        ]),
    h('h2', {}, 'Revisions'),
    revisions.length === 0
      ? empty('No revisions yet.')
      : table('Revisions', ['Revision', 'Applied', 'By', 'Policies'], revisions, (r) => [
          r.revision ?? r.id,
          when(r.appliedAt ?? r.createdAt),
          r.actor ?? '—',
          (r.policies ?? [])
            .map((/** @type {any} */ p) => (typeof p === 'string' ? p : `${p.name}@${p.version}`))
            .join(', '),
        ]),
  );
}

/** @param {HTMLElement} main @param {string} name */
async function policy(main, name) {
  page(main, `Policy ${name}`, loading());
  const s = await get(`/api/v1/policies/${enc(name)}/status`);
  /** @type {Record<string, Record<string, string[]>>} */
  const byPath = {};
  for (const d of s.devices ?? []) {
    for (const setting of d.settings ?? []) {
      byPath[setting.path] ??= {};
      const states = byPath[setting.path];
      if (!states) continue;
      states[setting.state] ??= [];
      states[setting.state]?.push(d.deviceId);
    }
  }
  page(
    main,
    `Policy ${name}`,
    keyValues([
      ['Version', s.version],
      ['File', s.file],
      ['Stored', when(s.storedAt)],
      ['Active', s.active ? 'yes' : 'no'],
    ]),
    h('h2', {}, 'Settings'),
    Object.keys(byPath).length === 0
      ? empty('No device has this policy yet.')
      : table(
          'Settings and the devices in each state',
          ['Setting', 'Devices by state'],
          Object.entries(byPath),
          ([path, states]) => [
            path,
            h(
              'ul',
              {},
              Object.entries(states).map(([state, ids]) =>
                h(
                  'li',
                  {},
                  badge(state),
                  ` ${ids.length}: `,
                  ids
                    .slice(0, 20)
                    .flatMap((id, i) => [i ? ', ' : '', h('a', { href: `#/device/${enc(id)}` }, id)]),
                  ids.length > 20 ? ` … ${ids.length - 20} more` : '',
                ),
              ),
            ),
          ],
        ),
  );
}

/** @type {Page} */
async function catalog(main) {
  const input = h('input', {
    id: 'catalog-q',
    type: 'search',
    placeholder: 'e.g. MinDevicePasswordLength',
    size: 40,
  });
  const out = h('div', {});
  const form = h(
    'form',
    { className: 'inline', role: 'search' },
    h('div', {}, h('label', { for: 'catalog-q' }, 'Search the CSP catalog'), input),
    h('button', { type: 'submit' }, 'Search'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const q = /** @type {HTMLInputElement} */ (input).value.trim();
    if (!q) return;
    replace(out, loading('Searching…'));
    try {
      const res = await get(`/api/v1/catalog${query({ q })}`);
      const nodes = /** @type {any[]} */ (res.nodes ?? res.results ?? res);
      replace(
        out,
        nodes.length === 0
          ? empty(`Nothing in the catalog matches “${q}”.`)
          : table(
              'Catalog nodes',
              ['Node', 'Type', 'Access', 'Allowed values', 'Description'],
              nodes.slice(0, 100),
              (n) => [
                n.path ?? n.locUri,
                n.format ?? n.type ?? '',
                (n.accessTypes ?? n.access ?? []).join?.(', ') ?? '',
                allowed(n.allowedValues),
                n.description ?? '',
              ],
            ),
      );
    } catch (err) {
      replace(out, failure(err));
    }
  });
  page(main, 'CSP catalog', form, out);
  input.focus();
}

/** @param {any} v */
function allowed(v) {
  if (!v) return '';
  if (Array.isArray(v))
    return v
      .map((x) => (typeof x === 'object' ? `${x.value}${x.description ? ` (${x.description})` : ''}` : x))
      .join(', ');
  if (typeof v === 'object')
    return Object.entries(v)
      .map(([k, x]) => `${k}: ${typeof x === 'object' ? JSON.stringify(x) : x}`)
      .join(', ');
  return String(v);
}

const SAMPLE = `# policies/passwords.yaml
name: passwords
settings:
  - path: ./Device/Vendor/MSFT/Policy/Config/DeviceLock/MinDevicePasswordLength
    value: 8
`;

/** @type {Page} */
async function editor(main) {
  const file = h('input', { id: 'policy-file', value: 'passwords.yaml', size: 30 });
  const text = h('textarea', { id: 'policy-text', rows: 16, spellcheck: 'false' });
  /** @type {HTMLTextAreaElement} */ (text).value = SAMPLE;
  const out = h('div', { 'aria-live': 'polite', id: 'policy-result' });
  const bundle = () => ({
    files: {
      [/** @type {HTMLInputElement} */ (file).value]: /** @type {HTMLTextAreaElement} */ (text).value,
    },
  });
  /** @param {any[]} diagnostics */
  const showDiagnostics = (diagnostics) => {
    const lines = /** @type {HTMLTextAreaElement} */ (text).value.split('\n');
    const grid = h('div', { className: 'lines', role: 'list', 'aria-label': 'Policy with diagnostics' });
    lines.forEach((line, i) => {
      const here = diagnostics.filter((d) => Number(d.line) === i + 1);
      grid.append(
        h('span', { className: 'n' }, i + 1),
        h('span', { className: `t${here.length ? ' bad' : ''}` }, line || ' '),
      );
      for (const d of here) {
        grid.append(
          h('span', { className: 'n' }, ''),
          h(
            'span',
            { className: 'msg', role: 'listitem', 'data-testid': 'diagnostic' },
            `${d.file ?? ''}:${d.line}:${d.column ?? d.col ?? 1} ${d.severity ?? 'error'}: ${d.message}`,
          ),
        );
      }
    });
    const unplaced = diagnostics.filter((d) => !d.line || Number(d.line) > lines.length);
    return h(
      'div',
      {},
      h('p', { className: 'state error', role: 'alert' }, `${diagnostics.length} problem(s) found.`),
      grid,
      unplaced.map((d) =>
        h('p', { className: 'diag', 'data-testid': 'diagnostic' }, `${d.file ?? ''} ${d.message}`),
      ),
    );
  };
  /** @param {'validate' | 'plan'} kind */
  const run = async (kind) => {
    replace(out, loading(kind === 'plan' ? 'Planning…' : 'Validating…'));
    try {
      const res = await post(`/api/v1/policies/${kind}`, bundle());
      const diagnostics = /** @type {any[]} */ (res.diagnostics ?? []).filter(
        (d) => (d.severity ?? 'error') === 'error',
      );
      if (diagnostics.length > 0) return replace(out, showDiagnostics(res.diagnostics));
      if (kind === 'validate')
        return replace(out, h('p', { className: 'state', 'data-testid': 'valid' }, 'No problems found.'));
      const changes = /** @type {any[]} */ (res.changes ?? res.plan?.changes ?? []);
      const apply = h(
        'button',
        { type: 'button', className: 'danger', disabled: !can.applyPolicy() },
        'Confirm and apply',
      );
      apply.addEventListener('click', async () => {
        try {
          const done = await post('/api/v1/policies/apply', bundle());
          replace(
            out,
            h(
              'p',
              { className: 'state', 'data-testid': 'applied' },
              `Applied: revision ${done.revision ?? done.id ?? '?'}`,
            ),
          );
        } catch (err) {
          const body = err instanceof ApiError ? err.body : null;
          replace(out, body?.diagnostics ? showDiagnostics(body.diagnostics) : failure(err));
        }
      });
      replace(
        out,
        h('h2', {}, 'Plan'),
        changes.length === 0
          ? empty('The plan changes nothing.')
          : h(
              'pre',
              { 'data-testid': 'plan' },
              changes.map((c) => (typeof c === 'string' ? c : JSON.stringify(c))).join('\n'),
            ),
        can.applyPolicy() ? apply : empty('Only an admin can apply policies.'),
      );
    } catch (err) {
      const body = err instanceof ApiError ? err.body : null;
      replace(out, body?.diagnostics ? showDiagnostics(body.diagnostics) : failure(err));
    }
  };
  page(
    main,
    'Policy editor',
    h('div', {}, h('label', { for: 'policy-file' }, 'File name'), file),
    h('label', { for: 'policy-text' }, 'Policy YAML'),
    text,
    h(
      'div',
      { className: 'toolbar' },
      h('button', { type: 'button', onclick: () => run('validate') }, 'Validate'),
      h('button', { type: 'button', className: 'secondary', onclick: () => run('plan') }, 'Plan'),
    ),
    out,
  );
}

/** @type {Page} */
async function reports(main) {
  page(main, 'Compliance report', loading());
  const report = await get('/api/v1/compliance');
  const rows = /** @type {any[]} */ (report.devices);
  page(
    main,
    'Compliance report',
    h(
      'p',
      {},
      h(
        'a',
        { href: '/api/v1/compliance?format=csv', download: 'compliance.csv', id: 'compliance-csv' },
        'Download CSV',
      ),
    ),
    rows.length === 0
      ? empty('No devices yet.')
      : table(
          'Compliance by device',
          ['Device', 'User', 'State', 'Reasons', 'Last check-in', 'Settings'],
          rows,
          (d) => [
            h('a', { href: `#/device/${enc(d.deviceId)}` }, d.deviceId),
            d.user ?? '—',
            badge(d.state),
            (d.reasons ?? []).join('; '),
            when(d.lastCheckInAt),
            Object.entries(d.settings ?? {})
              .filter(([, n]) => Number(n) > 0)
              .map(([s, n]) => `${s} ${n}`)
              .join(', '),
          ],
        ),
  );
}

/** @type {Page} */
async function audit(main) {
  const actor = h('input', { id: 'audit-actor', size: 16 });
  const action = h('input', { id: 'audit-action', size: 16 });
  const deviceId = h('input', { id: 'audit-device', size: 16 });
  const out = h('div', {});
  const form = h(
    'form',
    { className: 'inline' },
    h('div', {}, h('label', { for: 'audit-actor' }, 'Actor'), actor),
    h('div', {}, h('label', { for: 'audit-action' }, 'Action'), action),
    h('div', {}, h('label', { for: 'audit-device' }, 'Device ID'), deviceId),
    h('button', { type: 'submit' }, 'Filter'),
  );
  const val = (/** @type {HTMLElement} */ el) => /** @type {HTMLInputElement} */ (el).value.trim();
  const load = async () => {
    replace(out, loading('Loading audit log…'));
    try {
      const res = await get(
        `/api/v1/audit${query({ actor: val(actor), action: val(action), deviceId: val(deviceId), limit: 200 })}`,
      );
      const entries = /** @type {any[]} */ (res.entries ?? res.items ?? res);
      replace(
        out,
        entries.length === 0
          ? empty('No audit entries match.')
          : table('Audit log', ['When', 'Actor', 'Action', 'Device', 'Details'], entries, (e) => [
              when(e.at),
              e.actor,
              e.action,
              e.deviceId ? h('a', { href: `#/device/${enc(e.deviceId)}` }, e.deviceId) : '—',
              JSON.stringify(e.details ?? {}),
            ]),
      );
    } catch (err) {
      replace(out, failure(err));
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    load();
  });
  page(main, 'Audit log', form, out);
  await load();
}

/** @type {Record<string, Page>} */
export const routes = { dashboard, devices, device, policies, editor, catalog, reports, audit };
