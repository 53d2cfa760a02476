// @ts-check
// The console's pages. Each renders into `main` from admin API responses (docs/api.md); the
// endpoints used are exactly the ones a script would call.
import { ApiError, can, enc, get, post, query } from './api.js';
import { badge, barChart, empty, failure, h, keyValues, loading, replace, table, when } from './ui.js';

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

/** Failing settings by path, from the per-setting summary report. */
async function failingSettings() {
  const section = h(
    'section',
    { className: 'card', 'aria-labelledby': 'd-failing' },
    h('h2', { id: 'd-failing' }, 'Failing settings'),
  );
  try {
    const summary = await get('/api/v1/reports/settings/summary');
    const rows = /** @type {any[]} */ (summary.items)
      .map((r) => ({
        path: r.path,
        policy: r.policy,
        failing: Number(r.states.failed ?? 0) + Number(r.states.drifted ?? 0),
      }))
      .filter((r) => r.failing > 0)
      .sort((a, b) => b.failing - a.failing);
    section.append(
      rows.length === 0
        ? empty('No failing settings.')
        : table('Failing settings by count', ['Setting', 'Policy', 'Devices'], rows.slice(0, 20), (r) => [
            r.path,
            r.policy ?? '—',
            h('span', { 'data-testid': 'failing-count' }, r.failing),
          ]),
    );
  } catch (err) {
    section.append(failure(err));
  }
  return section;
}

/** Sortable columns (the API's sort keys) and the plain ones. */
const DEVICE_COLUMNS = /** @type {const} */ ([
  ['deviceId', 'Device ID', true],
  ['name', 'Name', true],
  ['userUpn', 'User', false],
  ['osVersion', 'OS version', true],
  ['complianceState', 'Compliance', false],
  ['lastCheckInAt', 'Last check-in', true],
]);

/** @type {Page} */
async function devices(main) {
  const state = { q: '', sort: 'deviceId', order: 'asc', cursor: '', history: /** @type {string[]} */ ([]) };
  const search = h('input', {
    id: 'device-search',
    type: 'search',
    placeholder: 'ID, name or serial number',
    size: 32,
  });
  const compliance = h(
    'select',
    { id: 'device-compliance' },
    h('option', { value: '' }, 'Any'),
    ['compliant', 'noncompliant', 'grace', 'unknown'].map((c) => h('option', { value: c }, c)),
  );
  const out = h('div', {});
  const form = h(
    'form',
    { className: 'inline', role: 'search' },
    h('div', {}, h('label', { for: 'device-search' }, 'Search devices'), search),
    h('div', {}, h('label', { for: 'device-compliance' }, 'Compliance'), compliance),
    h('button', { type: 'submit' }, 'Search'),
  );
  const load = async () => {
    replace(out, loading('Loading devices…'));
    try {
      const res = await get(
        `/api/v1/devices${query({
          q: state.q,
          compliance: /** @type {HTMLSelectElement} */ (compliance).value,
          sort: state.sort,
          order: state.order,
          limit: 50,
          cursor: state.cursor,
        })}`,
      );
      const rows = /** @type {any[]} */ (res.items);
      const header = h(
        'tr',
        {},
        DEVICE_COLUMNS.map(([key, label, sortable]) =>
          h(
            'th',
            {
              scope: 'col',
              'aria-sort':
                state.sort === key ? (state.order === 'asc' ? 'ascending' : 'descending') : undefined,
            },
            sortable
              ? h(
                  'button',
                  {
                    type: 'button',
                    onclick: () => {
                      state.order = state.sort === key && state.order === 'asc' ? 'desc' : 'asc';
                      state.sort = key;
                      state.cursor = '';
                      state.history = [];
                      load();
                    },
                  },
                  label,
                  state.sort === key ? (state.order === 'asc' ? ' ▲' : ' ▼') : '',
                )
              : label,
          ),
        ),
      );
      const next = res.nextCursor;
      replace(
        out,
        rows.length === 0
          ? empty(state.q ? `No device matches “${state.q}”.` : 'No devices match.')
          : h(
              'div',
              { className: 'table-wrap' },
              h(
                'table',
                { id: 'devices-table' },
                h('caption', { className: 'visually-hidden' }, 'Devices'),
                h('thead', {}, header),
                h(
                  'tbody',
                  {},
                  rows.map((d) =>
                    h(
                      'tr',
                      {},
                      h('td', {}, h('a', { href: `#/device/${enc(d.deviceId)}` }, d.deviceId)),
                      h('td', {}, d.name ?? '—'),
                      h('td', {}, d.userUpn),
                      h('td', {}, d.osVersion ?? '—'),
                      h('td', {}, badge(d.complianceState)),
                      h('td', {}, when(d.lastCheckInAt)),
                    ),
                  ),
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
            { role: 'status', 'data-testid': 'devices-shown' },
            `${rows.length} shown, page ${state.history.length + 1}`,
          ),
        ),
      );
    } catch (err) {
      replace(out, failure(err));
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    state.q = /** @type {HTMLInputElement} */ (search).value.trim();
    state.cursor = '';
    state.history = [];
    load();
  });
  page(main, 'Devices', form, out);
  await load();
}

const FINISHED = ['done', 'failed', 'expired', 'cancelled'];

/** Every node's status and results of a command, as text. @param {any} c */
function resultText(c) {
  const parts = [];
  for (const n of c.nodes ?? []) {
    const results = (n.results ?? []).map((/** @type {any} */ r) => `${r.locUri} = ${r.data ?? ''}`);
    parts.push(
      `${n.verb}${n.status !== undefined ? ` ${n.status}` : ''}${results.length ? `: ${results.join('; ')}` : ''}`,
    );
  }
  if (c.failureReason) parts.push(c.failureReason);
  return parts.join(' · ');
}

/** @param {any} c */
const commandTargets = (c) =>
  c.command?.items
    ? c.command.items.map((/** @type {any} */ i) => i.target).join(', ')
    : `${(c.command?.commands ?? []).length} commands`;

/**
 * Polls a command until it has finished and shows its outcome as it arrives.
 * @param {string} id @param {HTMLElement} out @param {string} label
 */
async function watchCommand(id, out, label) {
  for (let i = 0; i < 600; i++) {
    if (!out.isConnected) return;
    try {
      const c = await get(`/api/v1/commands/${enc(id)}`);
      if (FINISHED.includes(c.state)) {
        replace(
          out,
          h(
            'span',
            { 'data-testid': 'command-outcome', 'data-state': c.state },
            `${label} ${c.state}${c.statusCode !== null ? ` (${c.statusCode})` : ''}: `,
            h('span', { 'data-testid': 'command-result' }, resultText(c)),
          ),
        );
        return;
      }
      replace(
        out,
        h('span', { 'data-state': c.state }, `${label}: ${c.state} — waiting for the device to check in`),
      );
    } catch (err) {
      replace(out, failure(err));
      return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** @param {unknown} err */
const refusal = (err) =>
  h('span', { className: 'diag', role: 'alert' }, err instanceof Error ? err.message : String(err));

/** The CSP's LastError (hex and description), else its Status, of a device's app. @param {any} a */
function appError(a) {
  if (a.lastErrorHex) return `${a.lastErrorHex}${a.lastErrorDesc ? ` ${a.lastErrorDesc}` : ''}`;
  if (a.state === 'failed' && a.cspStatus !== null) return `Status ${a.cspStatus}`;
  return '—';
}

/** @type {Page} */
async function device(main, [id]) {
  if (!id) return devices(main, []);
  page(main, `Device ${id}`, loading());
  const detail = await get(`/api/v1/devices/${enc(id)}`);
  const d = detail.device;
  const outcome = h(
    'div',
    { role: 'status', 'aria-live': 'polite', id: 'action-outcome', className: 'card' },
    'No action yet.',
  );
  /** @param {string} action @param {Record<string, string>} [body] */
  const runAction = async (action, body = {}) => {
    const label = action[0]?.toUpperCase() + action.slice(1);
    try {
      const res = await post(`/api/v1/devices/${enc(id)}/actions/${action}`, body);
      if (res.commandId) {
        replace(outcome, `${label}: queued (command ${res.commandId})`);
        watchCommand(res.commandId, outcome, label);
      } else {
        replace(outcome, h('span', { 'data-testid': 'action-done' }, `${label}: ${res.detail ?? 'done'}`));
      }
    } catch (err) {
      replace(outcome, refusal(err));
    }
  };
  const actions = h('div', { className: 'actions' });
  if (can.act()) {
    for (const a of ['sync', 'lock', 'reboot']) {
      actions.append(
        h(
          'button',
          { type: 'button', className: 'secondary', onclick: () => runAction(a) },
          a[0]?.toUpperCase() + a.slice(1),
        ),
      );
    }
    const nameInput = h('input', { id: 'rename-input', value: d.name ?? '', maxlength: 255 });
    const renameForm = h(
      'form',
      { className: 'inline' },
      h('div', {}, h('label', { for: 'rename-input' }, 'Device name'), nameInput),
      h('button', { type: 'submit', className: 'secondary' }, 'Rename'),
    );
    renameForm.addEventListener('submit', (e) => {
      e.preventDefault();
      runAction('rename', { name: /** @type {HTMLInputElement} */ (nameInput).value });
    });
    const confirmInput = h('input', { id: 'wipe-confirm', autocomplete: 'off', size: 36 });
    const wipeButton = h(
      'button',
      { type: 'submit', className: 'danger', disabled: true, id: 'wipe-button' },
      'Wipe device',
    );
    confirmInput.addEventListener('input', () => {
      /** @type {HTMLButtonElement} */ (wipeButton).disabled =
        /** @type {HTMLInputElement} */ (confirmInput).value !== id;
    });
    const wipeForm = h(
      'form',
      { className: 'inline' },
      h('div', {}, h('label', { for: 'wipe-confirm' }, `To wipe, type the device ID: ${id}`), confirmInput),
      wipeButton,
    );
    wipeForm.addEventListener('submit', (e) => {
      e.preventDefault();
      runAction('wipe', { confirm: id });
    });
    const unenroll = h(
      'button',
      {
        type: 'button',
        className: 'danger',
        onclick: () => {
          if (window.confirm(`Unenroll ${id}? The device stops being managed.`)) runAction('unenroll');
        },
      },
      'Unenroll',
    );
    actions.append(unenroll, renameForm, wipeForm);
  }
  const getForm = h('form', { className: 'inline' });
  if (can.act()) {
    const target = h('input', { id: 'get-target', value: './DevDetail/SwV', size: 48 });
    getForm.append(
      h('div', {}, h('label', { for: 'get-target' }, 'Read a node (Get command)'), target),
      h('button', { type: 'submit' }, 'Queue Get'),
    );
    getForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const res = await post(`/api/v1/devices/${enc(id)}/commands`, {
          command: {
            verb: 'Get',
            items: [{ target: /** @type {HTMLInputElement} */ (target).value.trim() }],
          },
        });
        replace(outcome, `Get: queued (command ${res.id})`);
        watchCommand(res.id, outcome, 'Get');
      } catch (err) {
        replace(outcome, refusal(err));
      }
    });
  }
  const commands = [...detail.pendingCommands, ...detail.recentCommands];
  page(
    main,
    `Device ${d.name ? `${d.name} (${id})` : id}`,
    h(
      'div',
      { className: 'grid' },
      h(
        'section',
        { className: 'card', 'aria-labelledby': 'dev-summary' },
        h('h2', { id: 'dev-summary' }, 'Summary'),
        keyValues([
          ['Device ID', id],
          ['Name', d.name ?? '—'],
          ['Status', d.status],
          ['User', d.userUpn],
          ['OS version', d.osVersion ?? '—'],
          ['Enrolled', when(d.enrolledAt)],
          ['Compliance', badge(detail.compliance.state)],
          ['Reasons', detail.compliance.reasons.join('; ') || '—'],
          ['Last check-in', when(detail.checkIn?.lastCheckInAt)],
          ['Sessions', detail.checkIn?.sessions ?? 0],
        ]),
      ),
      h(
        'section',
        { className: 'card', 'aria-labelledby': 'dev-inventory' },
        h('h2', { id: 'dev-inventory' }, 'Inventory'),
        detail.inventory.length === 0
          ? empty('No inventory read yet.')
          : keyValues(detail.inventory.map((/** @type {any} */ n) => [n.locUri, n.value ?? '—'])),
      ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'dev-actions' },
      h('h2', { id: 'dev-actions' }, 'Actions'),
      can.act() ? [actions, getForm] : empty('Your role (auditor) can read only.'),
      outcome,
    ),
    h(
      'section',
      { 'aria-labelledby': 'dev-settings' },
      h('h2', { id: 'dev-settings' }, 'Settings'),
      detail.settings.length === 0
        ? empty('No settings assigned.')
        : table(
            'Settings',
            ['Setting', 'Policy', 'Desired', 'Reported', 'State', 'Reason'],
            detail.settings,
            (/** @type {any} */ s) => [
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
      { 'aria-labelledby': 'dev-apps', className: 'apps' },
      h('h2', { id: 'dev-apps' }, 'Apps'),
      detail.apps.length === 0
        ? empty('No apps assigned.')
        : table(
            'Apps',
            ['App', 'Policy', 'Wanted', 'Installed', 'State', 'Last error', 'Reason', 'Verified'],
            detail.apps,
            (/** @type {any} */ a) => [
              `${a.name} (${a.kind.toUpperCase()})`,
              a.policy ?? '—',
              a.desiredVersion ?? '—',
              a.installedVersion ?? '—',
              badge(a.state),
              appError(a),
              a.reason ?? '',
              when(a.verifiedAt),
            ],
          ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'dev-commands' },
      h('h2', { id: 'dev-commands' }, 'Commands'),
      commands.length === 0
        ? empty('No commands yet.')
        : table(
            'Commands',
            ['Command', 'Verb', 'Targets', 'State', 'Result', 'Created'],
            commands,
            (/** @type {any} */ c) => [
              c.id,
              c.command.verb,
              commandTargets(c),
              badge(c.state),
              resultText(c),
              when(c.createdAt),
            ],
          ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'dev-events' },
      h('h2', { id: 'dev-events' }, 'Events'),
      detail.events.length === 0
        ? empty('No events yet.')
        : table(
            'Events',
            ['Received', 'Type', 'Alert', 'Source', 'Data'],
            detail.events,
            (/** @type {any} */ e) => [
              when(e.receivedAt),
              e.type,
              e.alertCode,
              e.source ?? '—',
              e.data ?? '',
            ],
          ),
    ),
  );
}

/** @type {Page} */
async function policies(main, [name]) {
  if (name) return policy(main, name);
  page(main, 'Policies', loading());
  const [list, revisions] = await Promise.all([get('/api/v1/policies'), get('/api/v1/policy-revisions')]);
  const rows = /** @type {any[]} */ (list.items);
  const revs = /** @type {any[]} */ (revisions.items);
  page(
    main,
    'Policies',
    rows.length === 0
      ? empty('No policies stored yet. Write one in the policy editor.')
      : table('Policies', ['Policy', 'Active', 'Version', 'File', 'Settings by state'], rows, (p) => [
          h('a', { href: `#/policies/${enc(p.name)}` }, p.name),
          p.active ? 'yes' : 'no',
          `${p.version} (${p.versions.length} stored)`,
          p.file,
          countRows(p.settings)
            .map(([s, n]) => `${s} ${n}`)
            .join(', ') || '—',
        ]),
    h('h2', {}, 'Revisions of the policy folder'),
    revs.length === 0
      ? empty('No revisions yet.')
      : table('Revisions', ['Revision', 'Stored', 'Hash'], revs, (r) => [
          r.revision,
          when(r.createdAt),
          String(r.hash).slice(0, 12),
        ]),
  );
}

/** @param {HTMLElement} main @param {string} name */
async function policy(main, name) {
  page(main, `Policy ${name}`, loading());
  const s = await get(`/api/v1/policies/${enc(name)}/status`);
  /** @type {Map<string, Map<string, string[]>>} */
  const byPath = new Map();
  for (const d of s.devices) {
    for (const setting of d.settings) {
      const states = byPath.get(setting.path) ?? new Map();
      states.set(setting.state, [...(states.get(setting.state) ?? []), d.deviceId]);
      byPath.set(setting.path, states);
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
      [
        'Assigned to',
        s.assignedTo
          .map(
            (/** @type {any} */ a) =>
              `${a.include.join(', ')}${a.exclude.length ? ` except ${a.exclude.join(', ')}` : ''}`,
          )
          .join('; ') || '—',
      ],
    ]),
    h('h2', {}, 'Settings and the devices in each state'),
    byPath.size === 0
      ? empty('No device has this policy yet.')
      : table(
          'Settings and the devices in each state',
          ['Setting', 'Devices by state'],
          [...byPath],
          ([path, states]) => [
            path,
            h(
              'ul',
              {},
              [...states].map(([state, ids]) =>
                h(
                  'li',
                  {},
                  badge(state),
                  ` ${ids.length}: `,
                  ids
                    .slice(0, 20)
                    .flatMap((id, i) => [i ? ', ' : '', h('a', { href: `#/device/${enc(id)}` }, id)]),
                  ids.length > 20 ? ` … and ${ids.length - 20} more` : '',
                ),
              ),
            ),
          ],
        ),
  );
}

/** @type {Page} */
async function catalog(main) {
  const input = h('input', { id: 'catalog-q', type: 'search', placeholder: 'e.g. camera', size: 40 });
  const out = h('div', {});
  const nodeOut = h('div', { 'aria-live': 'polite' });
  const form = h(
    'form',
    { className: 'inline', role: 'search' },
    h('div', {}, h('label', { for: 'catalog-q' }, 'Search the CSP catalog'), input),
    h('button', { type: 'submit' }, 'Search'),
  );
  /** @param {string} path */
  const show = async (path) => {
    replace(nodeOut, loading('Loading node…'));
    try {
      const { node, children } = await get(`/api/v1/catalog/node${query({ path })}`);
      replace(
        nodeOut,
        h(
          'section',
          { className: 'card', 'aria-labelledby': 'node-title' },
          h('h2', { id: 'node-title' }, node.path),
          keyValues([
            ['CSP', node.csp],
            ['Scope', node.scope],
            ['Type', node.format],
            ['Access', node.access.join(', ')],
            ['Allowed values', allowed(node.allowedValues ?? node.allowed) || '—'],
            ['Default', node.defaultValue ?? '—'],
            ['Description', node.description ?? '—'],
            ['Children', children.length ? children.join(', ') : '—'],
          ]),
        ),
      );
    } catch (err) {
      replace(nodeOut, failure(err));
    }
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const q = /** @type {HTMLInputElement} */ (input).value.trim();
    if (!q) return;
    replace(out, loading('Searching…'));
    try {
      const res = await get(`/api/v1/catalog/search${query({ q, limit: 50 })}`);
      const nodes = /** @type {any[]} */ (res.items);
      replace(
        out,
        nodes.length === 0
          ? empty(`Nothing in the catalog matches “${q}”.`)
          : table('Catalog nodes', ['Node', 'Type', 'Access', 'Description'], nodes, (n) => [
              h('button', { type: 'button', className: 'secondary', onclick: () => show(n.path) }, n.path),
              n.format,
              n.access.join(', '),
              n.description ?? '',
            ]),
      );
    } catch (err) {
      replace(out, failure(err));
    }
  });
  page(main, 'CSP catalog', form, nodeOut, out);
  input.focus();
}

/** @param {any} v */
function allowed(v) {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v))
    return v
      .map((x) =>
        typeof x === 'object' ? `${x.value}${x.description ? ` (${x.description})` : ''}` : String(x),
      )
      .join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

const SAMPLE_FILES = {
  'camera-off.yaml':
    'name: camera-off\ndescription: No camera.\nsettings:\n  - path: Camera/AllowCamera\n    value: 0\n',
  'assignments.yaml': 'assignments:\n  - policy: camera-off\n    include: [all]\n',
};

/** Side files edited as text in the console (anything else is uploaded and sent as base64). */
const TEXT_SIDE_FILE = /\.(admx|adml|xml|pem|crt|txt|json|ps1|cmd)$/i;

/** Bytes that base64 text decodes to. @param {string} b64 */
const base64Size = (b64) => (b64.length * 3) / 4 - (b64.match(/=*$/)?.[0].length ?? 0);

/** @type {Page} */
async function editor(main) {
  /** @type {{ name: HTMLInputElement, text: HTMLTextAreaElement, out: HTMLElement }[]} */
  const files = [];
  const list = h('div', {});
  const result = h('div', { 'aria-live': 'polite', id: 'policy-result' });
  /** @param {string} name @param {string} text */
  const addFile = (name, text) => {
    const n = files.length;
    const nameInput = /** @type {HTMLInputElement} */ (
      h('input', { id: `file-name-${n}`, value: name, size: 30 })
    );
    const area = /** @type {HTMLTextAreaElement} */ (
      h('textarea', { id: `file-text-${n}`, rows: 10, spellcheck: 'false' })
    );
    area.value = text;
    const out = h('div', { 'data-testid': `file-diagnostics-${n}` });
    files.push({ name: nameInput, text: area, out });
    list.append(
      h(
        'section',
        { className: 'card', 'aria-label': `File ${n + 1}` },
        h('label', { for: `file-name-${n}` }, 'File name'),
        nameInput,
        h('label', { for: `file-text-${n}` }, 'YAML'),
        area,
        out,
      ),
    );
  };
  /**
   * The side files the policies name with `file:` (ADMX, XML payloads, certificates, packages):
   * text files are edited in the side pane, binary ones uploaded. Sent as `payloads`.
   * @type {Map<string, { text: string } | { base64: string }>}
   */
  const sideFiles = new Map();
  /** The side file open in the second pane, with its editor and its diagnostics. */
  /** @type {{ name: string, text: HTMLTextAreaElement, out: HTMLElement } | null} */
  let open = null;
  const sideList = h('div', { id: 'side-files' });
  const pane = h('div', { id: 'side-pane' });
  const closePane = () => {
    open = null;
    replace(pane);
  };
  /** @param {string} name */
  const openPane = (name) => {
    const payload = sideFiles.get(name);
    if (!payload || !('text' in payload)) return;
    const text = /** @type {HTMLTextAreaElement} */ (
      h('textarea', { id: 'side-file-text', rows: 14, spellcheck: 'false' })
    );
    text.value = payload.text;
    text.addEventListener('input', () => sideFiles.set(name, { text: text.value }));
    const out = h('div', { 'data-testid': 'side-file-diagnostics' });
    open = { name, text, out };
    replace(
      pane,
      h(
        'section',
        { className: 'card', 'aria-labelledby': 'side-pane-title' },
        h('h2', { id: 'side-pane-title' }, `Side file ${name}`),
        h('label', { for: 'side-file-text' }, `Contents of ${name}`),
        text,
        out,
        h('button', { type: 'button', className: 'secondary', onclick: closePane }, `Close ${name}`),
      ),
    );
    text.focus();
  };
  /**
   * An uploaded file: text for the formats edited as text, base64 for anything else.
   * @param {File} file @param {string} name
   */
  const readUpload = async (file, name) => {
    if (TEXT_SIDE_FILE.test(name)) return { text: await file.text() };
    const bytes = new Uint8Array(await file.arrayBuffer());
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000)
      binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return { base64: btoa(binary) };
  };
  const renderSideFiles = () => {
    const names = [...sideFiles.keys()].sort();
    replace(
      sideList,
      names.length === 0
        ? empty('No side files: a policy naming one with file: needs it here.')
        : table('Side files', ['Side file', 'Kind', 'Actions'], names, (name) => {
            const payload = /** @type {{ text: string } | { base64: string }} */ (sideFiles.get(name));
            const n = names.indexOf(name);
            const input = /** @type {HTMLInputElement} */ (
              h('input', { type: 'file', id: `side-replace-${n}`, className: 'file' })
            );
            input.addEventListener('change', async () => {
              const file = input.files?.[0];
              if (!file) return;
              sideFiles.set(name, await readUpload(file, name));
              if (open?.name === name) closePane();
              renderSideFiles();
            });
            return [
              name,
              'text' in payload
                ? `text, ${payload.text.length} characters`
                : `binary, ${base64Size(payload.base64)} bytes`,
              h(
                'span',
                { className: 'actions' },
                'text' in payload &&
                  h(
                    'button',
                    { type: 'button', className: 'secondary', onclick: () => openPane(name) },
                    `Open ${name}`,
                  ),
                h('label', { for: `side-replace-${n}` }, `Replace ${name} with an upload`),
                input,
                h(
                  'button',
                  {
                    type: 'button',
                    className: 'secondary',
                    onclick: () => {
                      sideFiles.delete(name);
                      if (open?.name === name) closePane();
                      renderSideFiles();
                    },
                  },
                  `Remove ${name}`,
                ),
              ),
            ];
          }),
    );
  };
  const sideName = /** @type {HTMLInputElement} */ (
    h('input', { id: 'side-file-name', placeholder: 'admx/contoso.admx', size: 24 })
  );
  const sideUpload = /** @type {HTMLInputElement} */ (
    h('input', { type: 'file', id: 'side-file-upload', className: 'file' })
  );
  sideUpload.addEventListener('change', async () => {
    const file = sideUpload.files?.[0];
    if (!file) return;
    const name = sideName.value.trim() || file.name;
    sideFiles.set(name, await readUpload(file, name));
    sideUpload.value = '';
    renderSideFiles();
  });
  const origin = h('p', { 'data-testid': 'folder-origin' });
  /** Replaces the files with the stored folder (or, before any apply, a sample to start from). */
  const loadStored = async () => {
    files.length = 0;
    sideFiles.clear();
    closePane();
    replace(list, loading('Loading the stored folder…'));
    replace(result);
    /** @type {Record<string, string>} */
    let stored = SAMPLE_FILES;
    try {
      const folder = await get('/api/v1/policy-folder');
      if (folder.revision > 0) stored = folder.files;
      for (const [name, payload] of Object.entries(folder.payloads ?? {})) sideFiles.set(name, payload);
      replace(
        origin,
        folder.revision > 0
          ? `The stored folder, revision ${folder.revision}: applying these files replaces it.`
          : 'No folder is stored yet: a sample to start from. Applying these files stores them.',
      );
    } catch (err) {
      replace(origin, failure(err), ' A sample is shown instead: applying it replaces the stored folder.');
    }
    replace(list);
    for (const name of Object.keys(stored).sort()) addFile(name, stored[name] ?? '');
    renderSideFiles();
  };
  await loadStored();
  /** The request: the YAML files and their side files. */
  const bundle = () => ({
    files: Object.fromEntries(
      files.filter((f) => f.name.value.trim()).map((f) => [f.name.value.trim(), f.text.value]),
    ),
    ...(sideFiles.size > 0 && { payloads: Object.fromEntries(sideFiles) }),
  });
  /** Shows each file's issues under the line they are at (a side file's in its pane). @param {any[]} issues */
  const showIssues = (issues) => {
    const panes = files.map((f) => ({ name: f.name.value.trim(), text: f.text, out: f.out }));
    if (open) panes.push(open);
    for (const f of panes) {
      const mine = issues.filter((i) => i.file === f.name);
      if (mine.length === 0) {
        replace(f.out);
        continue;
      }
      const grid = h('div', { className: 'lines' });
      f.text.value.split('\n').forEach((line, i) => {
        const here = mine.filter((d) => d.line === i + 1);
        grid.append(
          h('span', { className: 'n' }, i + 1),
          h('span', { className: `t${here.length ? ' bad' : ''}` }, line || ' '),
        );
        for (const d of here) {
          grid.append(
            h('span', { className: 'n' }, ''),
            h(
              'span',
              { className: 'msg', 'data-testid': 'diagnostic' },
              `${d.file}:${d.line}:${d.col} ${d.severity} ${d.code}: ${d.message}`,
            ),
          );
        }
      });
      replace(f.out, grid);
    }
    const placed = new Set(panes.map((f) => f.name));
    return issues.filter((i) => !placed.has(i.file));
  };
  /** @param {any[]} issues */
  const issueSummary = (issues) => {
    const errors = issues.filter((i) => i.severity === 'error').length;
    const others = showIssues(issues);
    return h(
      'div',
      {},
      h(
        'p',
        {
          className: errors ? 'state error' : 'state',
          role: errors ? 'alert' : 'status',
          'data-testid': 'issue-summary',
        },
        errors
          ? `${errors} error(s), ${issues.length - errors} warning(s): nothing can be applied.`
          : `No errors, ${issues.length} warning(s).`,
      ),
      others.map((d) =>
        h(
          'p',
          { className: 'diag', 'data-testid': 'diagnostic' },
          `${d.file}:${d.line}:${d.col} ${d.message}`,
          sideFiles.has(d.file) && 'text' in (sideFiles.get(d.file) ?? {})
            ? h(
                'button',
                {
                  type: 'button',
                  className: 'secondary',
                  onclick: () => {
                    openPane(d.file);
                    showIssues(issues);
                  },
                },
                `Open ${d.file} at line ${d.line}`,
              )
            : null,
        ),
      ),
    );
  };
  const validate = async () => {
    replace(result, loading('Validating…'));
    try {
      const r = await post('/api/v1/policies/validate', bundle());
      replace(result, issueSummary(r.issues));
    } catch (err) {
      replace(result, failure(err));
    }
  };
  const plan = async () => {
    replace(result, loading('Planning…'));
    try {
      const r = await post('/api/v1/policies/plan', bundle());
      if (!r.valid) return replace(result, issueSummary(r.issues));
      showIssues(r.issues);
      const groups = /** @type {any[]} */ (r.plan);
      const apply = h(
        'button',
        { type: 'button', className: 'danger', id: 'apply-button' },
        'Confirm and apply',
      );
      apply.addEventListener('click', async () => {
        replace(result, loading('Applying…'));
        try {
          const done = await post('/api/v1/policies/apply', bundle());
          replace(
            result,
            h(
              'p',
              { className: 'state', role: 'status', 'data-testid': 'applied' },
              done.created === false
                ? `Unchanged: revision ${done.revision}`
                : `Applied: revision ${done.revision}`,
            ),
          );
        } catch (err) {
          const body = err instanceof ApiError ? err.body : null;
          replace(result, body?.issues ? issueSummary(body.issues) : failure(err));
        }
      });
      replace(
        result,
        h('h2', {}, 'Plan'),
        groups.length === 0
          ? empty('The plan changes nothing.')
          : table(
              'Plan per group',
              ['Group', 'Devices', 'Added', 'Changed', 'Removed', 'Conflicts'],
              groups,
              (g) => [
                g.group,
                g.devices ?? '—',
                g.added.map((/** @type {any} */ c) => `${c.path} = ${c.to}`).join('; ') || '—',
                g.changed.map((/** @type {any} */ c) => `${c.path}: ${c.from} → ${c.to}`).join('; ') || '—',
                g.removed.map((/** @type {any} */ c) => c.path).join('; ') || '—',
                g.conflicts.join('; ') || '—',
              ],
            ),
        can.applyPolicy() ? apply : empty('Only an admin can apply policies.'),
      );
    } catch (err) {
      const body = err instanceof ApiError ? err.body : null;
      replace(result, body?.issues ? issueSummary(body.issues) : failure(err));
    }
  };
  const newName = h('input', { id: 'new-file', placeholder: 'another.yaml', size: 20 });
  page(
    main,
    'Policy editor',
    h('p', {}, 'The files below are a whole policy folder: applying them replaces the stored folder.'),
    origin,
    list,
    h(
      'section',
      { className: 'card', 'aria-labelledby': 'side-files-title' },
      h('h2', { id: 'side-files-title' }, 'Side files'),
      h(
        'p',
        {},
        'Files the policies name with file: (ADMX, XML payloads, certificates, packages), relative to the folder.',
      ),
      sideList,
      h(
        'div',
        { className: 'toolbar' },
        h('div', {}, h('label', { for: 'side-file-name' }, 'Side file name'), sideName),
        h('div', {}, h('label', { for: 'side-file-upload' }, 'Upload a side file'), sideUpload),
      ),
    ),
    pane,
    h(
      'div',
      { className: 'toolbar' },
      h('div', {}, h('label', { for: 'new-file' }, 'Add a file'), newName),
      h(
        'button',
        {
          type: 'button',
          className: 'secondary',
          onclick: () => {
            const v = /** @type {HTMLInputElement} */ (newName).value.trim();
            if (v) addFile(v, '');
          },
        },
        'Add file',
      ),
      h(
        'button',
        { type: 'button', className: 'secondary', onclick: loadStored },
        'Reload the stored folder',
      ),
      h('button', { type: 'button', onclick: validate }, 'Validate'),
      h('button', { type: 'button', onclick: plan }, 'Plan'),
    ),
    result,
  );
}

/** Rows the compliance table shows (the CSV holds every device). */
const SHOWN = 200;

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
      { className: 'actions' },
      h(
        'a',
        { href: '/api/v1/compliance?format=csv', download: 'compliance.csv', id: 'compliance-csv' },
        'Download compliance CSV',
      ),
      h(
        'a',
        { href: '/api/v1/reports/settings?format=csv', download: 'settings.csv', id: 'settings-csv' },
        'Download per-setting CSV',
      ),
      h(
        'a',
        { href: '/api/v1/reports/apps?format=csv', download: 'apps.csv', id: 'apps-csv' },
        'Download app deployment CSV',
      ),
    ),
    rows.length > SHOWN
      ? h(
          'p',
          { role: 'status' },
          `Showing the first ${SHOWN} of ${rows.length} devices; the CSV has them all.`,
        )
      : '',
    rows.length === 0
      ? empty('No devices yet.')
      : table(
          'Compliance by device',
          ['Device', 'User', 'State', 'Reasons', 'Last check-in', 'Settings'],
          rows.slice(0, SHOWN),
          (d) => [
            h('a', { href: `#/device/${enc(d.deviceId)}` }, d.deviceId),
            d.user ?? '—',
            badge(d.state),
            d.reasons.join('; '),
            when(d.lastCheckInAt),
            countRows(d.settings)
              .map(([s, n]) => `${s} ${n}`)
              .join(', '),
          ],
        ),
  );
}

/** @type {Page} */
async function audit(main) {
  const actor = h('input', { id: 'audit-actor', size: 16 });
  const action = h('input', { id: 'audit-action', size: 16, placeholder: 'e.g. devices.' });
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
  /** @type {string[]} */
  const history = [];
  let cursor = '';
  const load = async () => {
    replace(out, loading('Loading the audit log…'));
    try {
      const filters = { actor: val(actor), action: val(action), deviceId: val(deviceId) };
      const res = await get(`/api/v1/audit${query({ ...filters, limit: 100, cursor })}`);
      const entries = /** @type {any[]} */ (res.items);
      replace(
        out,
        h(
          'p',
          {},
          h(
            'a',
            {
              href: `/api/v1/audit${query({ ...filters, limit: 500, format: 'csv' })}`,
              download: 'audit.csv',
            },
            'Download CSV',
          ),
        ),
        entries.length === 0
          ? empty('No audit entries match.')
          : table('Audit log', ['When', 'Actor', 'Action', 'Device', 'Details'], entries, (e) => [
              when(e.at),
              e.actor,
              e.action,
              e.deviceId ? h('a', { href: `#/device/${enc(e.deviceId)}` }, e.deviceId) : '—',
              JSON.stringify(e.details),
            ]),
        h(
          'div',
          { className: 'pager' },
          h(
            'button',
            {
              type: 'button',
              className: 'secondary',
              disabled: history.length === 0,
              onclick: () => {
                cursor = history.pop() ?? '';
                load();
              },
            },
            'Newer',
          ),
          h(
            'button',
            {
              type: 'button',
              className: 'secondary',
              disabled: !res.nextCursor,
              onclick: () => {
                history.push(cursor);
                cursor = res.nextCursor;
                load();
              },
            },
            'Older',
          ),
        ),
      );
    } catch (err) {
      replace(out, failure(err));
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    cursor = '';
    history.length = 0;
    load();
  });
  page(main, 'Audit log', form, out);
  await load();
}

/** @type {Record<string, Page>} */
export const routes = { dashboard, devices, device, policies, editor, catalog, reports, audit };
