// taskfleet dashboard: plain ES modules, no build step. Every number comes from the public API with
// the key the user typed (kept in sessionStorage for this tab); read-only keys see actions disabled.
import { schedulesPage } from './schedules.js';

const $main = document.getElementById('main');
const $crumbs = document.getElementById('crumbs');
const $who = document.getElementById('who');
const KEY = 'taskfleet.apiKey';
let me = null;
let timer = null;
/** Incremented by every route: a page whose data arrives after a newer route started does not render. */
let view = 0;

/** Build an element: h('td', { class: 'num' }, 'text', child…). Text is always text (never HTML). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
  }
}

async function api(path, init = {}) {
  const key = sessionStorage.getItem(KEY);
  const res = await fetch(path, {
    ...init,
    headers: {
      accept: 'application/json',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(init.body ? { 'content-type': 'application/json' } : {}),
    },
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

const can = (scope) => !!me && (me.scopes.includes(scope) || me.scopes.includes('admin'));
const fmtAge = (s) =>
  s === null || s === undefined
    ? '—'
    : s < 60
      ? `${s.toFixed(1)} s`
      : s < 3600
        ? `${(s / 60).toFixed(1)} min`
        : `${(s / 3600).toFixed(1)} h`;
const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const stateBadge = (s) => h('span', { class: `state ${s}`, 'data-testid': 'state' }, s.replace('_', ' '));
const json = (v) => h('pre', {}, v === null || v === undefined ? '—' : JSON.stringify(v, null, 2));

function setCrumbs(...parts) {
  $crumbs.replaceChildren(...parts.flatMap((p, i) => (i ? [' / ', p] : [p])));
}

function showError(err) {
  if (err instanceof ApiError && err.status === 401) return login('That API key was refused.');
  $main.replaceChildren(h('p', { class: 'error', 'data-testid': 'error' }, err.message));
}

function login(message) {
  clearInterval(timer);
  me = null;
  $who.textContent = '';
  setCrumbs();
  const input = h('input', { type: 'password', name: 'key', placeholder: 'tf_…', autocomplete: 'off', 'data-testid': 'key' });
  $main.replaceChildren(
    h(
      'form',
      {
        class: 'login',
        onsubmit: async (e) => {
          e.preventDefault();
          sessionStorage.setItem(KEY, input.value.trim());
          await start();
        },
      },
      h('label', {}, 'API key (read scope to look, submit to act, admin to redrive)'),
      input,
      h('button', { type: 'submit' }, 'Open dashboard'),
      message ? h('p', { class: 'error' }, message) : null,
    ),
  );
}

// ---- charts (inline SVG) -------------------------------------------------------------------------
function lineChart(points, label) {
  const w = 600,
    hgt = 140,
    pad = 24;
  const max = Math.max(1, ...points.map((p) => p.y));
  const t0 = points[0]?.x ?? 0,
    t1 = points.at(-1)?.x ?? 1;
  const sx = (x) => pad + ((x - t0) / Math.max(1, t1 - t0)) * (w - 2 * pad);
  const sy = (y) => hgt - pad - (y / max) * (hgt - 2 * pad);
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${hgt}`);
  svg.innerHTML = `<line x1="${pad}" y1="${hgt - pad}" x2="${w - pad}" y2="${hgt - pad}" stroke="#ccc"/>
    <text x="${pad}" y="14" font-size="11" fill="#6b7385">${max}</text>`;
  if (points.length > 1) {
    const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    line.setAttribute('points', points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' '));
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', '#2f5bea');
    line.setAttribute('stroke-width', '2');
    svg.append(line);
  }
  return h('div', { class: 'chart' }, h('div', { class: 'muted' }, label), svg);
}

function barChart(rows, label) {
  const w = 600,
    hgt = 140,
    pad = 24;
  const max = Math.max(1, ...rows.flatMap((r) => [r.created, r.finished]));
  const bw = (w - 2 * pad) / Math.max(1, rows.length) / 2;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${hgt}`);
  svg.innerHTML = `<text x="${pad}" y="14" font-size="11" fill="#6b7385">${max}/min — in (blue) out (green)</text>`;
  rows.forEach((r, i) => {
    for (const [j, v, color] of [
      [0, r.created, '#2f5bea'],
      [1, r.finished, '#1e8e3e'],
    ]) {
      const rect = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
      const bh = (v / max) * (hgt - 2 * pad);
      rect.setAttribute('x', String(pad + (2 * i + j) * bw));
      rect.setAttribute('y', String(hgt - pad - bh));
      rect.setAttribute('width', String(Math.max(1, bw - 1)));
      rect.setAttribute('height', String(bh));
      rect.setAttribute('fill', color);
      svg.append(rect);
    }
  });
  return h('div', { class: 'chart' }, h('div', { class: 'muted' }, label), svg);
}

// ---- pages ---------------------------------------------------------------------------------------
async function overview() {
  const token = view; // a newer route may render first: then this one must not overwrite it
  setCrumbs(h('span', {}, 'Overview'));
  const [stats, workers, { queues }] = await Promise.all([api('/v1/stats'), api('/v1/workers'), api('/v1/queues')]);
  const perQueueMinute = new Map();
  const lastMinute = new Date(Math.floor(Date.now() / 60000) * 60000 - 60000).toISOString().slice(0, 16);
  for (const r of stats.throughput) {
    if (r.minute.slice(0, 16) !== lastMinute) continue;
    perQueueMinute.set(r.queue, r);
  }
  const described = new Map(queues.map((q) => [q.name, q]));
  const rows = stats.queues.map((q) =>
    h(
      'tr',
      { 'data-testid': `queue-${q.queue}` },
      h('td', {}, h('a', { href: `#/queue/${encodeURIComponent(q.queue)}` }, q.queue)),
      ...['ready', 'scheduled', 'retrying', 'active', 'dead_lettered'].map((s) => h('td', { class: 'num', 'data-testid': s }, q.depth[s])),
      h(
        'td',
        { class: 'num', 'data-testid': 'by-priority' },
        ['critical', 'high', 'normal', 'low'].map((p) => q.readyByPriority[p]).join(' / '),
      ),
      h('td', { class: 'num' }, fmtAge(q.oldestReadyAgeSeconds)),
      h('td', { class: 'num', 'data-testid': 'in-rate' }, perQueueMinute.get(q.queue)?.created ?? 0),
      h(
        'td',
        { class: 'num', 'data-testid': 'out-rate' },
        (perQueueMinute.get(q.queue)?.completed ?? 0) + (perQueueMinute.get(q.queue)?.failed ?? 0),
      ),
      h('td', { class: 'muted' }, described.get(q.queue)?.description ?? ''),
    ),
  );
  const depthPoints = stats.history.map((s) => ({
    x: Date.parse(s.t),
    y: Object.values(s.queues).reduce((n, d) => n + d.ready + d.active + d.retrying, 0),
  }));
  const minutes = new Map();
  for (const r of stats.throughput) {
    const m = minutes.get(r.minute) ?? { created: 0, finished: 0 };
    m.created += r.created;
    m.finished += r.completed + r.failed;
    minutes.set(r.minute, m);
  }
  const totals = workers.totals;
  if (token !== view) return;
  $main.replaceChildren(
    h('h2', {}, 'Queues ', h('span', { class: 'muted' }, `snapshot ${fmtTime(stats.computedAt)}`)),
    h(
      'table',
      { 'data-testid': 'queues' },
      h(
        'tr',
        {},
        ...[
          'queue',
          'ready',
          'scheduled',
          'retrying',
          'running',
          'dead-lettered',
          'ready c/h/n/l',
          'oldest ready',
          'in /min',
          'out /min',
          '',
        ].map((t, i) => h('th', { class: i && i < 10 ? 'num' : '' }, t)),
      ),
      rows,
    ),
    h(
      'div',
      { class: 'charts' },
      lineChart(depthPoints, 'Tasks waiting or running (last hour on this API replica)'),
      barChart(
        [...minutes.entries()].sort().map(([, v]) => v),
        'Tasks in and out per minute (last hour)',
      ),
    ),
    h(
      'h2',
      {},
      'Workers ',
      h(
        'span',
        { class: 'muted', 'data-testid': 'worker-totals' },
        `${totals.replicas} replicas, ${totals.active} / ${totals.slots} slots busy`,
      ),
    ),
    workers.workers.length
      ? h(
          'table',
          { 'data-testid': 'workers' },
          h('tr', {}, ...['replica', 'host', 'pid', 'queues', 'slots busy', 'since'].map((t) => h('th', {}, t))),
          workers.workers.map((w) =>
            h(
              'tr',
              {},
              h('td', {}, w.id),
              h('td', {}, w.hostname),
              h('td', {}, w.pid),
              h('td', {}, w.queues.join(', ')),
              h('td', { class: 'num' }, `${w.active} / ${w.concurrency}`),
              h('td', {}, fmtTime(w.startedAt)),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No worker replica has reported in the last 30 s.'),
  );
}

const STATES = ['waiting', 'queued', 'scheduled', 'running', 'retrying', 'completed', 'failed', 'dead_lettered', 'cancelled'];

/** The queue's fleet-wide flow control: shown to every key, changed with an admin key. */
function settingsPanel(queue, info) {
  const s = info.settings ?? { paused: false, concurrency: null, rate: null, groupConcurrency: null };
  const admin = can('admin');
  const patch = async (body, done) => {
    await api(`/v1/queues/${encodeURIComponent(queue)}`, { method: 'PATCH', body: JSON.stringify(body) });
    await route();
    flash(done);
  };
  const concurrency = h('input', {
    'data-testid': 'concurrency',
    type: 'number',
    min: 1,
    size: 6,
    value: s.concurrency ?? '',
    placeholder: 'unlimited',
  });
  const rateLimit = h('input', {
    'data-testid': 'rate-limit',
    type: 'number',
    min: 1,
    size: 6,
    value: s.rate?.limit ?? '',
    placeholder: 'unlimited',
  });
  const ratePeriod = h('input', { 'data-testid': 'rate-period', type: 'number', min: 1, size: 4, value: s.rate?.periodSeconds ?? 1 });
  const groupConcurrency = h('input', {
    'data-testid': 'group-concurrency',
    type: 'number',
    min: 1,
    size: 6,
    value: s.groupConcurrency ?? '',
    placeholder: 'unlimited',
  });
  const num = (el) => (el.value.trim() === '' ? null : Number(el.value));
  return h(
    'form',
    {
      class: 'toolbar',
      'data-testid': 'settings',
      onsubmit: (e) => {
        e.preventDefault();
        const limit = num(rateLimit);
        void patch(
          {
            concurrency: num(concurrency),
            rate: limit === null ? null : { limit, periodSeconds: num(ratePeriod) ?? 1 },
            groupConcurrency: num(groupConcurrency),
          },
          'Limits saved.',
        ).catch(showFlashError);
      },
    },
    h('strong', { 'data-testid': 'queue-status' }, s.paused ? 'paused' : 'running'),
    h(
      'button',
      {
        type: 'button',
        'data-testid': s.paused ? 'resume' : 'pause',
        disabled: !admin,
        title: admin ? '' : 'needs an admin key',
        onclick: () => void patch({ paused: !s.paused }, s.paused ? 'Resumed.' : 'Paused.').catch(showFlashError),
      },
      s.paused ? 'Resume' : 'Pause',
    ),
    ' fleet-wide concurrency ',
    concurrency,
    ' rate ',
    rateLimit,
    ' per ',
    ratePeriod,
    ' s, per group ',
    groupConcurrency,
    ' ',
    h('button', { type: 'submit', 'data-testid': 'save-limits', disabled: !admin }, 'Save limits'),
  );
}

function showFlashError(err) {
  flash(err.message);
}

async function queuePage(queue, params) {
  const token = view; // a newer route may render first: then this one must not overwrite it
  const state = params.get('state') ?? '';
  const cursor = params.get('cursor') ?? '';
  setCrumbs(h('a', { href: '#/' }, 'Overview'), h('span', {}, queue));
  const qs = new URLSearchParams({ limit: '25', ...(state ? { state } : {}), ...(cursor ? { cursor } : {}) });
  const [page, info] = await Promise.all([
    api(`/v1/queues/${encodeURIComponent(queue)}/tasks?${qs}`),
    api(`/v1/queues/${encodeURIComponent(queue)}`),
  ]);
  const go = (p) => (location.hash = `#/queue/${encodeURIComponent(queue)}?${new URLSearchParams(p)}`);
  const select = h(
    'select',
    { 'data-testid': 'state-filter', onchange: (e) => go(e.target.value ? { state: e.target.value } : {}) },
    h('option', { value: '' }, 'every state'),
    STATES.map((s) => h('option', { value: s, selected: s === state }, s.replace('_', ' '))),
  );
  const search = h('input', { placeholder: 'task id', 'data-testid': 'search', size: 38 });
  const redrive = info.deadLetterQueue
    ? h(
        'button',
        {
          class: 'danger',
          'data-testid': 'redrive',
          disabled: !can('admin'),
          title: can('admin') ? `Move every task in ${info.deadLetterQueue} back into ${queue}` : 'needs an admin key',
          onclick: async () => {
            if (!confirm(`Redrive every dead-lettered task of ${queue} back into the queue?`)) return;
            const r = await api(`/v1/queues/${encodeURIComponent(queue)}/dead-letter:redrive`, { method: 'POST', body: '{}' });
            await route();
            flash(`Redrove ${r.moved} task(s).`);
          },
        },
        'Redrive dead-letter',
      )
    : null;
  if (token !== view) return;
  $main.replaceChildren(
    h('h2', {}, queue, ' ', h('span', { class: 'muted' }, info.description ?? '')),
    info.kind === 'tasks' ? settingsPanel(queue, info) : null,
    h(
      'div',
      { class: 'toolbar' },
      select,
      h(
        'form',
        {
          onsubmit: (e) => {
            e.preventDefault();
            if (search.value.trim()) location.hash = `#/task/${encodeURIComponent(queue)}/${encodeURIComponent(search.value.trim())}`;
          },
        },
        search,
        ' ',
        h('button', { type: 'submit' }, 'Find'),
      ),
      redrive,
      h('span', { id: 'flash', 'data-testid': 'flash', class: 'muted' }),
    ),
    h(
      'table',
      { 'data-testid': 'tasks' },
      h('tr', {}, ...['task', 'state', 'priority', 'attempts', 'created', 'finished'].map((t) => h('th', {}, t))),
      page.tasks.map((t) =>
        h(
          'tr',
          { 'data-testid': 'task-row' },
          h('td', {}, h('a', { href: `#/task/${encodeURIComponent(queue)}/${t.id}` }, t.id)),
          h('td', {}, stateBadge(t.state)),
          h('td', {}, t.priority),
          h('td', { class: 'num' }, `${t.attempts} / ${t.maxAttempts}`),
          h('td', {}, fmtTime(t.createdAt)),
          h('td', {}, fmtTime(t.finishedAt)),
        ),
      ),
    ),
    h(
      'div',
      { class: 'toolbar' },
      cursor ? h('button', { 'data-testid': 'first-page', onclick: () => go(state ? { state } : {}) }, '« First page') : null,
      page.nextCursor
        ? h(
            'button',
            { 'data-testid': 'next-page', onclick: () => go({ ...(state ? { state } : {}), cursor: page.nextCursor }) },
            'Next page »',
          )
        : null,
      page.tasks.length === 0 ? h('span', { class: 'muted' }, 'No tasks.') : null,
    ),
  );
}

function flash(text) {
  const el = document.getElementById('flash');
  if (el) el.textContent = text;
}

async function taskPage(queue, id) {
  const token = view; // a newer route may render first: then this one must not overwrite it
  setCrumbs(h('a', { href: '#/' }, 'Overview'), h('a', { href: `#/queue/${encodeURIComponent(queue)}` }, queue), h('span', {}, id));
  const t = await api(`/v1/queues/${encodeURIComponent(queue)}/tasks/${encodeURIComponent(id)}`);
  const act = (verb, label, enabled) =>
    h(
      'button',
      {
        'data-testid': verb,
        class: verb === 'cancel' ? 'danger' : '',
        disabled: !enabled || !can('submit'),
        title: can('submit') ? '' : 'needs a key with the submit scope',
        onclick: async () => {
          if (!confirm(`${label} task ${id}?`)) return;
          try {
            await api(`/v1/queues/${encodeURIComponent(queue)}/tasks/${encodeURIComponent(id)}:${verb}`, { method: 'POST' });
            await route();
          } catch (err) {
            flash(err.message);
          }
        },
      },
      label,
    );
  const running = ['waiting', 'queued', 'scheduled', 'retrying', 'running'].includes(t.state);
  if (token !== view) return;
  $main.replaceChildren(
    h('h2', {}, 'Task ', h('code', {}, t.id), ' ', stateBadge(t.state)),
    h(
      'div',
      { class: 'toolbar' },
      act('cancel', 'Cancel', running),
      act('retry', 'Retry', ['failed', 'dead_lettered', 'cancelled'].includes(t.state)),
      h('span', { id: 'flash', 'data-testid': 'flash', class: 'error' }),
    ),
    h(
      'dl',
      { 'data-testid': 'task-detail' },
      h('dt', {}, 'queue'),
      h('dd', {}, t.queue),
      h('dt', {}, 'priority'),
      h('dd', {}, t.priority),
      h('dt', {}, 'attempts'),
      h('dd', { 'data-testid': 'attempts' }, `${t.attempts} of ${t.maxAttempts}`),
      h('dt', {}, 'progress'),
      h(
        'dd',
        { 'data-testid': 'progress' },
        typeof t.progress === 'number'
          ? [h('progress', { max: 100, value: t.progress }), ` ${t.progress} %`]
          : t.progress
            ? JSON.stringify(t.progress)
            : '—',
      ),
      h('dt', {}, 'callback'),
      h('dd', { 'data-testid': 'callback' }, t.callback ? t.callback.url : '—'),
      h('dt', {}, 'idempotency key'),
      h('dd', {}, t.idempotencyKey ?? '—'),
      h('dt', {}, 'dedupe'),
      h(
        'dd',
        { 'data-testid': 'dedupe' },
        t.dedupe ? `${t.dedupe.mode} ${t.dedupe.key} · window ends ${fmtTime(t.dedupe.windowEnd)}` : '—',
      ),
      h('dt', {}, 'depends on'),
      h(
        'dd',
        { 'data-testid': 'depends-on' },
        t.dependsOn?.length
          ? t.dependsOn.flatMap((d, i) => [
              i ? ', ' : '',
              h('a', { href: `#/task/${encodeURIComponent(d.queue)}/${d.id}` }, `${d.queue} ${d.id}`),
            ])
          : '—',
      ),
      h('dt', {}, 'dead-letter'),
      h('dd', {}, t.deadLetterQueue ?? (t.source ? `copy of ${t.source.queue} ${t.source.id}` : '—')),
      h('dt', {}, 'timeline'),
      h(
        'dd',
        { 'data-testid': 'timeline' },
        `created ${fmtTime(t.createdAt)} · due ${fmtTime(t.runAt)} · started ${fmtTime(t.startedAt)} · finished ${fmtTime(t.finishedAt)}`,
      ),
    ),
    h('h2', {}, 'Payload'),
    json(t.payload),
    h('h2', {}, 'Output'),
    json(t.output),
    h('h2', {}, 'Errors (last attempt and history)'),
    h('div', { 'data-testid': 'errors' }, json(t.lastError)),
  );
}

async function route() {
  clearInterval(timer);
  const mine = ++view;
  const [path, query = ''] = location.hash.replace(/^#/, '').split('?');
  const parts = (path || '/').split('/').filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] === 'queue' && parts[1]) await queuePage(parts[1], new URLSearchParams(query));
    else if (parts[0] === 'task' && parts[1] && parts[2]) await taskPage(parts[1], parts[2]);
    else if (parts[0] === 'schedules')
      await schedulesPage({ h, api, can, fmtTime, json, setCrumbs, showError, $main, current: () => mine === view, refresh: route });
    else {
      await overview();
      if (mine === view) timer = setInterval(() => overview().catch(showError), 5000);
    }
  } catch (err) {
    if (mine === view) showError(err);
  }
}

async function start() {
  try {
    me = await api('/v1/me');
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return login(sessionStorage.getItem(KEY) ? 'That API key was refused.' : undefined);
    return showError(err);
  }
  $who.replaceChildren(
    `${me.name} (${me.scopes.join(', ')}) `,
    h(
      'button',
      {
        onclick: () => {
          sessionStorage.removeItem(KEY);
          login();
        },
      },
      'Sign out',
    ),
  );
  await route();
}

window.addEventListener('hashchange', () => me && route());
start();
