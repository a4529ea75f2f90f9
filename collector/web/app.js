// app.js - hvtrail's web UI: the fleet, a VM's timeline across hosts,
// event search with hvtrail query's filters, alerts.  Plain JS, no build
// step.  Everything shown comes from the index, i.e. from peers: it only
// ever enters the page as text (textContent, SVG text nodes), never as
// markup.
'use strict';

const POLL_MS = 2000;
let token = sessionStorage.getItem('hvtrail-token') || '';
let timer = null;

// a bearer token arrives once in the fragment (never sent to the server)
(function takeToken() {
  const m = location.hash.match(/^#token=([^&]+)(?:&(.*))?$/);
  if (m) {
    token = decodeURIComponent(m[1]);
    sessionStorage.setItem('hvtrail-token', token);
    history.replaceState(null, '', location.pathname + '#' + (m[2] || 'fleet'));
  }
})();

function el(tag, attrs, ...kids) {
  const svg = ['svg', 'line', 'circle', 'rect', 'path', 'text', 'g', 'title', 'defs', 'marker', 'polygon'];
  const e = svg.includes(tag) ? document.createElementNS('http://www.w3.org/2000/svg', tag)
                              : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'onclick' || k === 'onsubmit') e[k] = v; else e.setAttribute(k, String(v));
  }
  for (const k of kids.flat()) {
    if (k === null || k === undefined) continue;
    e.appendChild(typeof k === 'object' ? k : document.createTextNode(String(k)));
  }
  return e;
}

async function api(path) {
  const headers = token ? { Authorization: 'Bearer ' + token } : {};
  const r = await fetch(path, { headers, cache: 'no-store' });
  if (r.status === 401) throw new Error('not authorised: open this page as https://HOST:PORT/#token=TOKEN, or with a client certificate');
  if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
  return r.json();
}

function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, v);
  return u.toString();
}

function age(iso) {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 120) return s + 's';
  if (s < 7200) return Math.floor(s / 60) + 'm';
  if (s < 172800) return Math.floor(s / 3600) + 'h';
  return Math.floor(s / 86400) + 'd';
}

function short(iso) { return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-'; }

function show(...nodes) {
  const m = document.getElementById('main');
  m.replaceChildren(...nodes);
}

function fail(e) { show(el('p', { class: 'banner', id: 'error' }, String(e.message || e))); }

function setNav(name) {
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.id === 'nav-' + name);
}

async function status() {
  const s = document.getElementById('status');
  try {
    const st = await api('/api/status');
    s.className = st.storing ? '' : 'bad';
    s.textContent = st.storing ? `storing · inbox ${st.inbox_depth}` :
      'CANNOT STORE: ' + st.problems.map(p => `${p.why} (since ${short(p.since)})`).join('; ');
  } catch (e) { s.className = 'bad'; s.textContent = e.message; }
}

// ---- fleet ------------------------------------------------------------------
async function fleet() {
  setNav('fleet');
  const [h, st] = await Promise.all([api('/api/hosts'), api('/api/status')]);
  const rows = h.hosts.sort((a, b) => a.host.localeCompare(b.host)).map(x => {
    const rep = x.report && typeof x.report === 'object' ? x.report : {};
    const own = x.host === '(collector)';
    const sealed = (x.streams || []).reduce((n, s) => n + (s.unsealed || 0), 0);
    const stale = x.report_age_s !== undefined && x.report_age_s > 120;
    return el('tr', { 'data-host': x.host },
      el('td', {}, el('a', { href: '#events?' + qs({ host: x.host }) }, own ? '(this collector)' : x.host)),
      el('td', { class: 'num' }, x.events), el('td', { class: 'num', 'data-col': 'missing' }, x.missing),
      el('td', {}, short(x.last_event)), el('td', {}, short(x.last_stored)),
      el('td', { class: 'num' }, own ? '' : (rep.spool_depth ?? '-')),
      el('td', { class: 'num' }, own ? '' : (rep.last_seq !== undefined && rep.acked_seq !== undefined ? rep.last_seq - rep.acked_seq : '-')),
      el('td', { class: stale ? 'stale' : '' }, x.reported ? age(x.reported) : 'never'),
      el('td', {}, own ? '' : (sealed ? sealed + ' unsealed' : 'sealed')));
  });
  show(st.storing ? '' : el('p', { class: 'banner' }, 'The collector cannot store what it receives: ' +
         st.problems.map(p => p.why + ' (since ' + short(p.since) + ')').join('; ')),
       el('h2', {}, 'Fleet'),
       el('table', { id: 'fleet' }, el('thead', {}, el('tr', {},
         ['Host', 'Events', 'Missing', 'Last event (UTC)', 'Last stored (UTC)', 'Spool depth', 'Unacked', 'Report age', 'Seals']
           .map(t => el('th', {}, t)))), el('tbody', {}, rows)));
}

// ---- events -----------------------------------------------------------------
// hvtrail query's filters, by the API's names (priority is -p, grep is -g)
const FILTERS = ['vm', 'host', 'type', 'priority', 'grep', 'since', 'until', 'id', 'link'];

function eventRow(r, fresh) {
  const e = r.event || {};
  const vm = e.vm ? (e.vm.name || e.vm.uuid) : '';
  return el('tr', { class: 'sev-' + (e.severity || 'info') + (fresh ? ' new' : ''), 'data-id': e.id },
    el('td', {}, short(e.ts)), el('td', {}, e.host), el('td', {}, vm ? el('a', { href: '#vm=' + encodeURIComponent(vm) }, vm) : '-'),
    el('td', {}, e.type), el('td', { class: 'msg' }, e.msg || ''));
}

async function events(params, title, nav) {
  setNav(nav || 'events');
  const form = el('form', { class: 'filters', onsubmit: ev => {
    ev.preventDefault();
    const p = {};
    for (const f of FILTERS) p[f] = form.elements[f].value.trim();
    location.hash = (nav === 'alerts' ? 'alerts?' : 'events?') + qs(p);
  } }, FILTERS.map(f => el('input', { name: f, placeholder: f, value: params[f] || '' })), el('button', {}, 'Search'));
  const body = el('tbody', {});
  const first = await api('/api/events?' + qs(params));
  let cursor = first.cursor;
  for (const r of first.events) body.appendChild(eventRow(r, false));
  show(el('h2', {}, title || 'Events'), form,
       el('p', { id: 'count' }, first.events.length ? `${first.events.length} events, newest first; new ones appear at the top` : '-- No entries --'),
       el('table', { id: 'events' }, el('thead', {}, el('tr', {}, ['Time (UTC)', 'Host', 'VM', 'Type', 'Message'].map(t => el('th', {}, t)))), body));
  timer = setInterval(async () => {
    try {
      const more = await api('/api/events?' + qs({ ...params, after: cursor, order: 'asc' }));
      cursor = Math.max(cursor, more.cursor);
      for (const r of more.events) body.insertBefore(eventRow(r, true), body.firstChild);
    } catch (e) { /* the next poll tries again */ }
  }, POLL_MS);
}

// ---- a VM's timeline ----------------------------------------------------------
// hosts are lanes; each migration (records linked by the collector) is an
// arrow from the source's lane to the destination's, a failover and a
// snapshot a marker on the lane of the host that reported it
function fold(rows) {
  const evs = rows.map(r => ({ ...r.event, link: r.link })).filter(e => e && e.ts);
  const hosts = [...new Set(evs.map(e => e.host))].sort();
  const migs = new Map();
  for (const e of evs) {
    if (!e.link || !/^migration\./.test(e.type)) continue;
    const m = migs.get(e.link) || { link: e.link, from: null, to: null, start: e.ts, end: e.ts, outcome: 'in-progress', downtime: null };
    if (/^migration\.incoming\./.test(e.type)) m.to = e.host; else m.from = e.host;
    if (e.ts < m.start) m.start = e.ts;
    if (e.ts > m.end) m.end = e.ts;
    const end = e.type.match(/^migration\.(completed|failed|cancelled)$/);
    if (end) { m.outcome = end[1]; if (e.data && e.data.downtime_ms !== undefined) m.downtime = e.data.downtime_ms; }
    migs.set(e.link, m);
  }
  return { evs, hosts, migs: [...migs.values()] };
}

function drawTimeline(f) {
  const W = 1000, laneH = 70, top = 30, left = 150, right = 30;
  const H = top + laneH * Math.max(1, f.hosts.length) + 30;
  const ts = f.evs.map(e => Date.parse(e.ts));
  const t0 = Math.min(...ts), t1 = Math.max(...ts);
  const x = t => left + (t1 > t0 ? (Date.parse(t) - t0) / (t1 - t0) : 0.5) * (W - left - right);
  const y = h => top + laneH * f.hosts.indexOf(h) + laneH / 2;
  const svg = el('svg', { class: 'timeline', id: 'timeline', viewBox: `0 0 ${W} ${H}`, role: 'img' },
    el('defs', {}, el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' },
      el('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#4a6fa5' }))));
  for (const h of f.hosts) {
    svg.appendChild(el('g', { class: 'lane-group', 'data-host': h },
      el('line', { class: 'lane', x1: left, x2: W - right, y1: y(h), y2: y(h) }),
      el('text', { class: 'lane-label', x: 8, y: y(h) + 4 }, h)));
  }
  svg.appendChild(el('text', { class: 'axis', x: left, y: H - 8 }, short(new Date(t0).toISOString())));
  svg.appendChild(el('text', { class: 'axis', x: W - right, y: H - 8, 'text-anchor': 'end' }, short(new Date(t1).toISOString())));
  for (const m of f.migs) {
    if (!m.from || !m.to) continue;
    const x1 = x(m.start), x2 = Math.max(x(m.end), x1 + 12);
    svg.appendChild(el('g', { class: 'migration-arrow', 'data-from': m.from, 'data-to': m.to },
      el('path', { class: 'mig ' + m.outcome, d: `M${x1},${y(m.from)} C${x1 + 30},${y(m.from)} ${x2 - 30},${y(m.to)} ${x2},${y(m.to)}` },
        el('title', {}, `migration ${m.from} → ${m.to}: ${m.outcome}`)),
      el('text', { class: 'mig-label', x: (x1 + x2) / 2 + 4, y: (y(m.from) + y(m.to)) / 2 },
        m.outcome + (m.downtime !== null ? `, downtime ${m.downtime} ms` : ''))));
  }
  for (const e of f.evs) {
    const kind = /^colo\.failover/.test(e.type) ? 'failover' : /^snapshot\./.test(e.type) ? 'snapshot' : 'event';
    const shape = kind === 'event' ? el('circle', { class: 'ev', cx: x(e.ts), cy: y(e.host), r: 4 })
      : el('rect', { class: 'ev ' + kind, x: x(e.ts) - 5, y: y(e.host) - 5, width: 10, height: 10,
                     transform: kind === 'failover' ? `rotate(45 ${x(e.ts)} ${y(e.host)})` : null });
    shape.appendChild(el('title', {}, `${short(e.ts)} ${e.host} ${e.type}: ${e.msg || ''}`));
    svg.appendChild(shape);
  }
  return svg;
}

function timelineList(f) {
  const items = f.migs.map(m => el('li', { class: 'migration', 'data-from': m.from || '', 'data-to': m.to || '', 'data-outcome': m.outcome },
    `${short(m.start)} migration ${m.from || '?'} → ${m.to || '?'}: ${m.outcome}` + (m.downtime !== null ? `, downtime ${m.downtime} ms` : '')));
  for (const e of f.evs.filter(e => /^(colo\.failover|snapshot\.)/.test(e.type)))
    items.push(el('li', { class: e.type.startsWith('colo') ? 'failover' : 'snapshot', 'data-host': e.host }, `${short(e.ts)} ${e.host} ${e.type}: ${e.msg || ''}`));
  return el('ul', { class: 'rows', id: 'timeline-rows' }, items);
}

async function vmTimeline(vm) {
  setNav('');
  const first = await api('/api/events?' + qs({ vm, order: 'asc', limit: 100000 }));
  const rows = first.events;
  let cursor = first.cursor;
  const render = () => {
    if (!rows.length) { show(el('h2', {}, 'VM ' + vm), el('p', {}, '-- No entries --')); return; }
    const f = fold(rows);
    show(el('h2', { id: 'vm-title' }, `VM ${vm}: ${f.hosts.length} host${f.hosts.length === 1 ? '' : 's'}, ${f.evs.length} events, ${f.migs.length} migration${f.migs.length === 1 ? '' : 's'}`),
         drawTimeline(f), timelineList(f),
         el('p', {}, el('a', { href: '#events?' + qs({ vm }) }, 'all events of this VM')));
  };
  render();
  timer = setInterval(async () => {
    try {
      const more = await api('/api/events?' + qs({ vm, after: cursor, order: 'asc' }));
      if (more.events.length) { cursor = Math.max(cursor, more.cursor); rows.push(...more.events); render(); }
    } catch (e) { /* next poll */ }
  }, POLL_MS);
}

// ---- routing ---------------------------------------------------------------------
async function route() {
  if (timer) { clearInterval(timer); timer = null; }
  const h = location.hash.replace(/^#/, '') || 'fleet';
  const [name, query] = h.split('?');
  const params = Object.fromEntries(new URLSearchParams(query || ''));
  try {
    if (name.startsWith('vm=')) await vmTimeline(decodeURIComponent(name.slice(3)));
    else if (name === 'events') await events(params, 'Events');
    else if (name === 'alerts') await events({ ...params, type: params.type || 'alert.*' }, 'Alerts', 'alerts');
    else await fleet();
  } catch (e) { fail(e); }
}

document.getElementById('vm-form').onsubmit = ev => {
  ev.preventDefault();
  const v = document.getElementById('vm-input').value.trim();
  if (v) location.hash = 'vm=' + encodeURIComponent(v);
};
window.addEventListener('hashchange', route);
route();
status();
setInterval(status, 5000);
