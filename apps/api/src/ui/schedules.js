// The dashboard's schedules page (#/schedules): every recurring schedule the key may see, its next
// and last slot and the last slot's task; keys with the submit scope may delete one. app.js hands in
// its helpers, so this module holds no state of its own.

/**
 * Render the page into `ui.$main`; `ui.current()` is false once a newer route has started (then
 * nothing is rendered).
 */
export async function schedulesPage(ui) {
  const { h, api, can, fmtTime, json } = ui;
  ui.setCrumbs(h('a', { href: '#/' }, 'Overview'), h('span', {}, 'Schedules'));
  const { schedules } = await api('/v1/schedules');
  if (!ui.current()) return;
  const remove = (name) => async () => {
    if (!confirm(`Delete schedule ${name}? No task will be inserted for its slots from now on.`)) return;
    try {
      await api(`/v1/schedules/${encodeURIComponent(name)}`, { method: 'DELETE' });
      await ui.refresh();
    } catch (err) {
      ui.showError(err);
    }
  };
  const rows = schedules.map((s) =>
    h(
      'tr',
      { 'data-testid': `schedule-${s.name}` },
      h('td', {}, s.name),
      h('td', {}, h('a', { href: `#/queue/${encodeURIComponent(s.queue)}` }, s.queue)),
      h('td', {}, h('code', {}, s.cron)),
      h('td', {}, s.timezone),
      h('td', { 'data-testid': 'next' }, fmtTime(s.nextRunAt)),
      h('td', {}, fmtTime(s.lastRunAt)),
      h(
        'td',
        {},
        s.lastTaskId ? h('a', { href: `#/task/${encodeURIComponent(s.queue)}/${encodeURIComponent(s.lastTaskId)}` }, 'last task') : '—',
      ),
      h('td', {}, h('details', {}, h('summary', {}, 'payload and options'), json({ payload: s.payload, options: s.options }))),
      h('td', {}, h('button', { onclick: remove(s.name), disabled: !can('submit') }, 'Delete')),
    ),
  );
  ui.$main.replaceChildren(
    h('h2', {}, 'Schedules ', h('span', { class: 'muted' }, 'one task per slot, fleet-wide; times in your browser’s zone')),
    schedules.length === 0
      ? h(
          'p',
          { class: 'muted', 'data-testid': 'no-schedules' },
          'No schedules. Create one with PUT /v1/schedules/{name} or `taskfleet schedule set`.',
        )
      : h(
          'table',
          { 'data-testid': 'schedules' },
          h('tr', {}, ...['name', 'queue', 'cron', 'time zone', 'next slot', 'last slot', '', '', ''].map((c) => h('th', {}, c))),
          ...rows,
        ),
  );
}
