/**
 * The inspector's one page: HTML, a stylesheet and a script, served as they are (no build step), with
 * uPlot from the package's own dist files for the charts. The page takes its data from `/events` (a
 * server-sent event a second; EventSource reconnects by itself) and writes every string it shows with
 * `textContent`: nothing a client sent is ever parsed as HTML or run.
 */

/** Characters that would end an HTML attribute or start markup, escaped (the token goes into the page's links). */
function escapeAttribute(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page, with `token` in the links to its own script and styles (every path needs it). */
export function pageHtml(token: string): string {
  const q = escapeAttribute(`?token=${encodeURIComponent(token)}`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>mpmanager inspector</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/uplot.css${q}">
<link rel="stylesheet" href="/assets/page.css${q}">
<script src="/assets/uplot.js${q}" defer></script>
<script src="/assets/page.js${q}" defer></script>
</head>
<body>
<header>
  <h1>mpmanager <span id="version"></span></h1>
  <span id="status" class="status">connecting…</span>
  <dl id="overview"></dl>
</header>
<main>
  <section class="charts">
    <div><h2>Calls per second</h2><div id="chart-rate" class="chart"></div></div>
    <div><h2>Call latency (ms)</h2><div id="chart-latency" class="chart"></div></div>
  </section>
  <section>
    <h2>Objects <small id="objects-note"></small></h2>
    <table id="objects"><thead><tr>
      <th>typeid</th><th>id / name</th><th>where</th><th>refcount</th><th>held by</th><th>age</th><th>size</th><th>state</th><th class="values">value</th>
    </tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Who waits on what</h2>
    <table id="waits"><thead><tr>
      <th>object</th><th>kind</th><th>state</th><th>held by</th><th>waiting</th>
    </tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Connections</h2>
    <table id="connections"><thead><tr>
      <th>id</th><th>peer</th><th>transport</th><th>dialect</th><th>encryption</th><th>in flight</th><th>calls</th><th>errors</th><th>bytes in / out</th><th>age</th><th class="actions"></th>
    </tr></thead><tbody></tbody></table>
  </section>
  <section class="recent">
    <div>
      <h2>Recent errors</h2>
      <table id="errors"><thead><tr><th>at</th><th>connection</th><th>call</th><th>error</th><th>ms</th></tr></thead><tbody></tbody></table>
    </div>
    <div>
      <h2>Slow calls</h2>
      <table id="slow"><thead><tr><th>at</th><th>connection</th><th>call</th><th>ms</th></tr></thead><tbody></tbody></table>
    </div>
  </section>
</main>
</body>
</html>
`;
}

export const PAGE_CSS = `
:root { --fg: #1d2330; --muted: #6b7385; --line: #e3e6ec; --accent: #2f6fde; --bad: #c62f3a; --ok: #2a8a4a; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: #f6f7f9; }
header { background: #1d2330; color: #fff; padding: 10px 18px; display: flex; flex-wrap: wrap; align-items: center; gap: 6px 18px; }
header h1 { font-size: 16px; margin: 0; font-weight: 600; }
header h1 span { font-weight: 400; color: #aab3c5; font-size: 13px; }
.status { font-size: 12px; padding: 1px 8px; border-radius: 9px; background: #3a4254; }
.status.live { background: var(--ok); }
.status.down { background: var(--bad); }
#overview { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 0; width: 100%; }
#overview div { display: flex; gap: 5px; }
#overview dt { color: #aab3c5; }
#overview dd { margin: 0; font-variant-numeric: tabular-nums; }
main { padding: 8px 18px 24px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; margin: 12px 0; padding: 8px 12px; overflow-x: auto; }
section.charts, section.recent { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
h2 { font-size: 13px; margin: 4px 0 8px; font-weight: 600; }
h2 small { color: var(--muted); font-weight: 400; }
.chart { min-height: 190px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; vertical-align: top; }
th { color: var(--muted); font-weight: 500; font-size: 12px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.value { font-family: ui-monospace, Menlo, monospace; white-space: pre-wrap; max-width: 40em; word-break: break-all; }
td.empty { color: var(--muted); font-style: italic; }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 11px; background: #eef1f6; }
.badge.redis { background: #fde8e8; color: #a3262f; }
.badge.clear { background: #fff3d6; color: #8a5a00; }
.badge.enc { background: #e2f4e8; color: #1f6b3a; }
.waiter { display: block; }
.err { color: var(--bad); }
button { font: inherit; font-size: 12px; border: 1px solid var(--line); background: #fff; border-radius: 4px; cursor: pointer; }
body:not(.values) .values, body:not(.actions) .actions { display: none; }
@media (max-width: 900px) { section.charts, section.recent { grid-template-columns: 1fr; } }
`;

/** The page's script (plain ES2020, runs as it is). */
export const PAGE_JS = String.raw`(() => {
  'use strict';
  const token = new URLSearchParams(location.search).get('token') || '';
  const query = '?token=' + encodeURIComponent(token);
  const SERIES_KEEP = 600;
  /** Rows of the recent-error and slow-call lists shown (newest first). */
  const RECENT_ROWS = 12;

  /** An element with text (never parsed as HTML). */
  function el(tag, text, className) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (className) e.className = className;
    return e;
  }
  function cell(text, className) { return el('td', text === null || text === undefined ? '' : text, className); }
  function num(n) { return cell(n === null || n === undefined ? '' : String(n), 'num'); }
  function fmtBytes(n) {
    if (n < 1024) return n + ' B';
    if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
    if (n < 1073741824) return (n / 1048576).toFixed(1) + ' MiB';
    return (n / 1073741824).toFixed(2) + ' GiB';
  }
  function fmtMs(ms) {
    if (ms < 1) return ms.toFixed(2) + ' ms';
    if (ms < 1000) return Math.round(ms) + ' ms';
    return fmtAge(ms);
  }
  function fmtAge(ms) {
    const s = Math.floor(ms / 1000);
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
    return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
  }
  function fmtTime(at) { return new Date(at).toLocaleTimeString(); }
  function fill(tbody, rows, make, columns, emptyText) {
    const trs = rows.map(make);
    if (trs.length === 0) {
      const tr = el('tr');
      const td = cell(emptyText, 'empty');
      td.colSpan = columns;
      tr.append(td);
      trs.push(tr);
    }
    tbody.replaceChildren(...trs);
  }
  function badge(text, className) { return el('span', text, 'badge ' + (className || '')); }

  // ---- charts -----------------------------------------------------------------------------------
  const data = { t: [], calls: [], errors: [], p50: [], p95: [], p99: [] };
  let rateChart = null;
  let latencyChart = null;
  function chartWidth(id) { return Math.max(280, document.getElementById(id).clientWidth); }
  function makeCharts() {
    if (typeof uPlot !== 'function') return;
    // Whole seconds on the time axis (uPlot's default shows milliseconds over a short span).
    const timeAxis = { space: 70, incrs: [1, 5, 10, 15, 30, 60, 120, 300, 600], values: (u, splits) => splits.map((t) => new Date(t * 1000).toLocaleTimeString()) };
    const axes = [timeAxis, { size: 50 }];
    rateChart = new uPlot({
      width: chartWidth('chart-rate'), height: 180, axes, padding: [8, 36, 0, 0],
      series: [{}, { label: 'calls/s', stroke: '#2f6fde', fill: 'rgba(47,111,222,0.08)' }, { label: 'errors/s', stroke: '#c62f3a' }],
      scales: { y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    }, [data.t, data.calls, data.errors], document.getElementById('chart-rate'));
    latencyChart = new uPlot({
      width: chartWidth('chart-latency'), height: 180, axes, padding: [8, 36, 0, 0],
      series: [{}, { label: 'p50', stroke: '#2a8a4a' }, { label: 'p95', stroke: '#d08a00' }, { label: 'p99', stroke: '#c62f3a' }],
      scales: { y: { range: (u, min, max) => [0, Math.max(1, max === null ? 1 : max)] } },
    }, [data.t, data.p50, data.p95, data.p99], document.getElementById('chart-latency'));
    window.addEventListener('resize', () => {
      rateChart.setSize({ width: chartWidth('chart-rate'), height: 180 });
      latencyChart.setSize({ width: chartWidth('chart-latency'), height: 180 });
    });
  }
  function addSeries(points) {
    const last = data.t.length > 0 ? data.t[data.t.length - 1] : -Infinity;
    for (const p of points) {
      if (p.t <= last && data.t.length > 0) continue;
      data.t.push(p.t); data.calls.push(p.calls); data.errors.push(p.errors);
      data.p50.push(p.p50); data.p95.push(p.p95); data.p99.push(p.p99);
    }
    const extra = data.t.length - SERIES_KEEP;
    if (extra > 0) for (const k of Object.keys(data)) data[k].splice(0, extra);
    if (rateChart === null) makeCharts();
    if (rateChart !== null) {
      rateChart.setData([data.t, data.calls, data.errors]);
      latencyChart.setData([data.t, data.p50, data.p95, data.p99]);
    }
  }

  // ---- views ------------------------------------------------------------------------------------
  function renderOverview(s) {
    document.getElementById('version').textContent = s.version;
    const dialects = Object.entries(s.dialects).filter(([, n]) => n > 0).map(([d, n]) => d + ' ' + n).join(', ') || 'none';
    const enc = Object.entries(s.encryptions).map(([e, n]) => e + ' ' + n).join(', ') || 'none';
    const items = [
      ['address', s.address + (s.tls ? ' (TLS)' : '')],
      ['uptime', fmtAge(s.uptimeSeconds * 1000)],
      ['connections', s.totals.connections],
      ['objects', s.totals.objects],
      ['calls/s', s.totals.callsPerSecond],
      ['calls', s.totals.calls],
      ['errors', s.totals.errors],
      ['blocked', s.totals.blockedCalls],
      ['dialects', dialects],
      ['encryption', enc + ' (policy ' + s.encryption + ')'],
      ['auth failures', s.totals.authFailures],
      ['bytes in / out', fmtBytes(s.totals.bytesIn) + ' / ' + fmtBytes(s.totals.bytesOut)],
    ];
    document.getElementById('overview').replaceChildren(...items.map(([k, v]) => {
      const d = el('div');
      d.append(el('dt', k), el('dd', v));
      return d;
    }));
  }
  function renderObjects(s) {
    document.getElementById('objects-note').textContent = s.objectsTruncated ? '(first ' + s.objects.length + ' of ' + s.totals.objects + ')' : '';
    fill(document.querySelector('#objects tbody'), s.objects, (o) => {
      const tr = el('tr');
      tr.dataset.objectId = o.id;
      tr.dataset.typeid = o.typeid;
      const where = cell('');
      where.append(o.backend === 'redis' ? badge('in Redis', 'redis') : badge('in memory'));
      tr.append(cell(o.typeid, 'typeid'), cell(o.name !== null ? o.name : o.id, 'ident'), where, num(o.refcount), cell(o.heldBy.join(', '), 'held'),
        cell(fmtAge(o.ageMs)), Object.assign(num(o.size), { className: 'num size' }), cell(o.state, 'state'), cell(o.value, 'value values'));
      return tr;
    }, 9, 'no objects');
  }
  function renderWaits(s) {
    fill(document.querySelector('#waits tbody'), s.waits, (w) => {
      const tr = el('tr');
      tr.dataset.objectId = w.id;
      tr.dataset.typeid = w.typeid;
      const waiting = cell('', 'waiters');
      for (const x of w.waiters) waiting.append(el('span', x.connection + ' in ' + x.method + ' for ' + fmtMs(x.ms), 'waiter'));
      tr.append(cell(w.typeid + ' ' + (w.name !== null ? w.name : w.id)), cell(w.kind), cell(w.state, 'state'), cell(w.holders.join(', '), 'holders'), waiting);
      return tr;
    }, 5, 'nothing to wait on');
  }
  function renderConnections(s) {
    fill(document.querySelector('#connections tbody'), s.connections, (c) => {
      const tr = el('tr');
      tr.dataset.connectionId = c.id;
      const enc = cell('');
      enc.append(c.encryption === null ? badge('in clear', 'clear') : badge(c.encryption, 'enc'));
      const inflight = cell('', 'inflight');
      for (const x of c.inflight) inflight.append(el('span', x.typeid + '.' + x.method + ' ' + fmtMs(x.ms), 'waiter'));
      const action = cell('', 'actions');
      if (s.allowsActions) {
        const b = el('button', 'close');
        b.addEventListener('click', () => closeConnection(c.id));
        action.append(b);
      }
      tr.append(cell(c.id), cell(c.peer), cell(c.transport), cell(c.dialect + (c.origin ? ' (' + c.origin + ')' : '')), enc, inflight,
        num(c.calls), num(c.errors), cell(fmtBytes(c.bytesIn) + ' / ' + fmtBytes(c.bytesOut), 'num'), cell(fmtAge(s.now - c.openedAt)), action);
      return tr;
    }, 11, 'no connections');
  }
  function renderRecent(s) {
    fill(document.querySelector('#errors tbody'), s.errors.slice(-RECENT_ROWS).reverse(), (e) => {
      const tr = el('tr');
      tr.append(cell(fmtTime(e.at)), cell(e.connection), cell(e.typeid + '.' + e.method), cell(e.error + (e.message !== null ? ': ' + e.message : ''), 'err'), num(e.durationMs.toFixed(1)));
      return tr;
    }, 5, 'no errors');
    fill(document.querySelector('#slow tbody'), s.slow.slice(-RECENT_ROWS).reverse(), (e) => {
      const tr = el('tr');
      tr.append(cell(fmtTime(e.at)), cell(e.connection), cell(e.typeid + '.' + e.method), num(e.durationMs.toFixed(1)));
      return tr;
    }, 4, 'no slow calls');
  }
  function render(s) {
    document.body.classList.toggle('values', s.showsValues);
    document.body.classList.toggle('actions', s.allowsActions);
    renderOverview(s);
    renderObjects(s);
    renderWaits(s);
    renderConnections(s);
    renderRecent(s);
    addSeries(s.series);
    document.body.dataset.updated = String(s.now);
  }
  async function closeConnection(id) {
    if (!confirm('Close connection ' + id + '? What it holds is released.')) return;
    const res = await fetch('/api/connections/' + encodeURIComponent(id) + '/close', { method: 'POST', headers: { Authorization: 'Bearer ' + token } });
    if (!res.ok) alert('closing ' + id + ' failed: ' + res.status);
  }

  // ---- live updates -----------------------------------------------------------------------------
  const status = document.getElementById('status');
  const events = new EventSource('/events' + query);
  events.onopen = () => { status.textContent = 'live'; status.className = 'status live'; };
  events.onerror = () => { status.textContent = 'reconnecting…'; status.className = 'status down'; };
  events.onmessage = (ev) => render(JSON.parse(ev.data));
})();
`;
