// streetwatch operator console. Plain JavaScript, no framework, no build step.
// Data is always put in the page with textContent, never as HTML.
'use strict';

const KIND_LABEL = { sidewalk_parking: 'Vehicle on sidewalk', street_vending: 'Street vending', bike_cluster: 'Bicycle cluster' };
const PAGE_SIZE = 50;

const app = {
  me: null,
  rows: new Map(),      // incident id -> row, the incidents on the page
  seen: new Set(),      // incident ids seen since the page loaded (to cue only new ones)
  next: null,           // cursor of the next (older) page
  seq: 0,               // newest change sequence received
  source: null,         // the live feed (EventSource)
  muted: localStorage.getItem('sw-muted') === '1',
  fresh: 0,             // new incidents not yet looked at (in the title)
  detailId: null,
  cameraTimer: null,
};

function $(id) { return document.getElementById(id); }
function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}
function fmtTime(ms) { return ms ? new Date(ms).toLocaleString() : '—'; }
function fmtDwell(s) {
  s = Math.round(s || 0);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}
function fmtAge(ms, now) {
  if (!ms) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  return s < 90 ? `${s} s ago` : `${Math.round(s / 60)} min ago`;
}

async function api(path, options = {}) {
  const headers = Object.assign({ 'Accept': 'application/json' }, options.headers || {});
  if (options.method && options.method !== 'GET') headers['X-CSRF-Token'] = app.me ? app.me.csrf_token : '';
  const response = await fetch(path, Object.assign({}, options, { headers, credentials: 'same-origin' }));
  if (response.status === 401) { location.href = '/login'; throw new Error('logged out'); }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

// ---------------------------------------------------------------- cues
let audio = null;
function beep() {
  if (app.muted) return;
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator(), gain = audio.createGain();
    osc.frequency.value = 880; gain.gain.value = 0.08;
    osc.connect(gain).connect(audio.destination);
    osc.start(); osc.stop(audio.currentTime + 0.18);
  } catch (e) { /* no audio device: the visual cue remains */ }
}
function showMute() { $('mute').textContent = app.muted ? 'Sound: off' : 'Sound: on'; }
function updateTitle() { document.title = (app.fresh ? `(${app.fresh}) ` : '') + 'streetwatch console'; }

// ---------------------------------------------------------------- feed
function filters() {
  const f = {};
  for (const name of ['kind', 'camera', 'zone', 'state']) { const v = $('filter-' + name).value; if (v) f[name] = v; }
  return f;
}
function matches(row, f) {
  if (f.kind && row.kind !== f.kind) return false;
  if (f.camera && row.camera !== f.camera) return false;
  if (f.zone && row.zone_id !== f.zone) return false;
  if (f.state) {
    if (f.state === 'open' || f.state === 'ended') { if (row.phase !== f.state) return false; }
    else if (row.review !== f.state) return false;
  }
  return true;
}
function newerFirst(a, b) { return b.started_at_ms - a.started_at_ms || (b.id < a.id ? -1 : b.id > a.id ? 1 : 0); }

function feedItem(row) {
  const thumb = row.has_snapshot
    ? el('img', { src: `/evidence/incidents/${encodeURIComponent(row.id)}/snapshot.jpg?r=${row.revision}`, alt: 'snapshot', loading: 'lazy' })
    : el('div', { class: 'noimg' });
  const badges = el('div', { class: 'badges' },
    el('span', { class: `badge ${row.phase}`, text: row.phase }),
    el('span', { class: `badge ${row.review} review`, text: row.review }),
    el('span', { class: 'badge', text: row.severity }));
  const li = el('li', { class: `item kind-${row.kind}`, 'data-id': row.id, 'data-review': row.review, 'data-phase': row.phase,
    onclick: () => { location.hash = '#/incident/' + encodeURIComponent(row.id); } },
    el('span', { class: 'stripe' }), thumb,
    el('div', {},
      el('div', { class: 'title', text: `${KIND_LABEL[row.kind] || row.kind} · ${row.camera}` }),
      el('div', { class: 'meta', text: `${row.zone_name || row.zone_id} · dwell ${fmtDwell(row.dwell_secs)} · started ${fmtTime(row.started_at_ms)}` }),
      el('div', { class: 'meta', text: row.summary })),
    badges);
  return li;
}

function renderFeed() {
  const list = $('feed');
  const rows = [...app.rows.values()].sort(newerFirst);
  list.replaceChildren(...rows.map(feedItem));
  $('feed-empty').hidden = rows.length > 0;
  $('more').hidden = !app.next;
  $('feed-count').textContent = `${rows.length} shown`;
}

function upsert(row, live) {
  const f = filters();
  const isNew = !app.seen.has(row.id);
  app.seen.add(row.id);
  const oldest = [...app.rows.values()].reduce((m, r) => Math.min(m, r.started_at_ms), Infinity);
  const inWindow = !app.next || row.started_at_ms >= oldest;
  if (matches(row, f) && inWindow) app.rows.set(row.id, row); else app.rows.delete(row.id);
  const list = $('feed');
  const old = list.querySelector(`li[data-id="${CSS.escape(row.id)}"]`);
  if (app.rows.has(row.id)) {
    const item = feedItem(row);
    if (old) old.replaceWith(item);
    else {
      // Insert in place: re-rendering the whole list would reload every thumbnail.
      const rows = [...app.rows.values()].sort(newerFirst);
      const next = rows[rows.findIndex((r) => r.id === row.id) + 1];
      list.insertBefore(item, next ? list.querySelector(`li[data-id="${CSS.escape(next.id)}"]`) : null);
      $('feed-count').textContent = `${rows.length} shown`;
    }
    if (live && isNew && row.phase === 'open' && row.review === 'new') {
      const shown = list.querySelector(`li[data-id="${CSS.escape(row.id)}"]`);
      if (shown) shown.classList.add('fresh');
      beep();
      if (document.hidden || app.detailId) { app.fresh++; updateTitle(); }
    }
  } else if (old) old.remove();
  $('feed-empty').hidden = app.rows.size > 0;
  if (app.detailId === row.id) showIncident(row.id);
}

async function loadFeed(more) {
  const q = new URLSearchParams(filters());
  q.set('limit', PAGE_SIZE);
  if (more && app.next) q.set('before', app.next);
  const page = await api('/api/incidents?' + q);
  if (!more) app.rows.clear();
  const fresh = page.items.filter((row) => !app.rows.has(row.id));
  for (const row of page.items) { app.rows.set(row.id, row); app.seen.add(row.id); }
  app.next = page.next;
  if (more) {
    // Older incidents go below what is shown: append, nothing else is redrawn.
    $('feed').append(...fresh.map(feedItem));
    $('more').hidden = !app.next;
    $('feed-count').textContent = `${app.rows.size} shown`;
  } else {
    app.seq = Math.max(app.seq, page.seq);
    renderFeed();
  }
}

function setConn(up, text) {
  const c = $('conn');
  c.className = 'conn ' + (up ? 'conn-up' : 'conn-down');
  c.textContent = text;
}

// The live feed. EventSource reconnects by itself after a dropped connection and
// sends the last id it saw, so the server replays what was missed. An HTTP error
// (the server restarting, a lapsed login) closes it; then we open a new one.
function openStream() {
  if (app.source) app.source.close();
  const source = new EventSource('/api/feed?since=' + app.seq);
  app.source = source;
  source.onopen = () => setConn(true, 'live');
  source.onerror = () => {
    setConn(false, 'reconnecting…');
    if (source.readyState === EventSource.CLOSED) {
      setTimeout(async () => {
        if (app.source !== source) return;
        try { await api('/api/me'); } catch (e) { return; }
        openStream();
      }, 1500);
    }
  };
  source.addEventListener('incident', (e) => {
    app.seq = Math.max(app.seq, Number(e.lastEventId) || 0);
    upsert(JSON.parse(e.data), true);
  });
  source.addEventListener('resync', () => { loadFeed(false).catch(() => {}); });
}

async function loadFilters() {
  const f = await api('/api/filters');
  const fill = (id, values) => {
    const select = $(id), keep = select.value;
    select.replaceChildren(el('option', { value: '', text: 'all' }), ...values.map(([v, t]) => el('option', { value: v, text: t })));
    select.value = keep;
  };
  fill('filter-kind', f.kinds.map((k) => [k, KIND_LABEL[k] || k]));
  fill('filter-camera', f.cameras.map((c) => [c, c]));
  fill('filter-zone', f.zones.map((z) => [z.id, z.name || z.id]));
  fill('filter-state', f.states.map((s) => [s, s]));
}

// ---------------------------------------------------------------- incident detail
const ACTIONS = [
  { action: 'acknowledge', label: 'Acknowledge', from: ['new'] },
  { action: 'resolve', label: 'Resolve', from: ['new', 'acknowledged'] },
  { action: 'dismiss', label: 'Dismiss as false alarm', from: ['new', 'acknowledged'] },
];

async function review(id, action, note, status) {
  status.textContent = '';
  try {
    await api(`/api/incidents/${encodeURIComponent(id)}/review`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ action, note }),
    });
    await showIncident(id);
  } catch (e) { status.textContent = e.message; }
}

function clipPlayer(id) {
  const video = el('video', { controls: '', preload: 'metadata', id: 'clip', playsinline: '', muted: '' });
  video.muted = true;
  const note = el('p', { class: 'muted', id: 'clip-note' });
  const src = `/evidence/incidents/${encodeURIComponent(id)}/clip.mp4`;
  let tries = 0;
  // The clip is written once its post-roll is recorded: until then, try again.
  video.addEventListener('error', () => {
    note.textContent = 'The clip is being recorded (post-roll); it appears here when written.';
    if (tries++ < 40 && app.detailId === id) setTimeout(() => { video.src = src + '?try=' + tries; }, 3000);
  });
  video.addEventListener('loadedmetadata', () => { note.textContent = `Clip: ${video.duration.toFixed(1)} s`; });
  video.src = src;
  return [video, note];
}

async function showIncident(id) {
  app.detailId = id;
  const box = $('incident');
  let d;
  try { d = await api('/api/incidents/' + encodeURIComponent(id)); }
  catch (e) { box.replaceChildren(el('p', { class: 'error', text: e.message })); return; }
  if (app.detailId !== id) return;
  const inc = d.incident;
  const existing = $('clip');
  const media = el('div', {},
    inc.has_snapshot ? el('img', { id: 'snapshot', alt: 'incident snapshot', src: `/evidence/incidents/${encodeURIComponent(id)}/snapshot.jpg?r=${inc.revision}` })
      : el('p', { class: 'muted', text: 'No snapshot.' }));
  if (inc.has_clip) {
    // Keep a playing clip when the incident updates.
    if (existing && existing.dataset.id === id) media.append(existing, $('clip-note'));
    else { const [v, n] = clipPlayer(id); v.dataset.id = id; media.append(v, n); }
  }
  const timeline = el('ol', { class: 'timeline', id: 'timeline' }, ...d.timeline.map((t) => el('li', { 'data-phase': t.phase },
    el('strong', { text: t.phase === 'REVIEWED' ? `${t.action} by ${t.operator}` : t.phase }),
    ` · ${fmtTime(t.at_ms)}`,
    t.phase === 'REVIEWED' ? (t.note ? ` · “${t.note}”` : '') : ` · ${t.cause} · dwell ${fmtDwell(t.dwell_secs)} · ${t.object_count} object(s)`)));
  const objects = el('table', { class: 'grid' }, el('thead', {}, el('tr', {}, el('th', { text: 'Object' }), el('th', { text: 'Score' }), el('th', { text: 'Box (x, y, w, h)' }))),
    el('tbody', {}, ...(d.objects || []).map((o) => el('tr', {}, el('td', { text: o.class }), el('td', { text: o.score.toFixed(2) }),
      el('td', { text: o.box.map((v) => v.toFixed(3)).join(', ') })))));
  const status = el('p', { class: 'error', id: 'action-status', role: 'alert' });
  const note = el('textarea', { id: 'note', placeholder: 'Note (required to dismiss: why it is a false alarm)' });
  const canReview = app.me.can_review;
  const buttons = ACTIONS.map((a) => el('button', {
    type: 'button', id: 'action-' + a.action, 'data-action': a.action,
    onclick: () => review(id, a.action, note.value, status),
  }, a.label));
  buttons.forEach((b, i) => { b.disabled = !canReview || !ACTIONS[i].from.includes(inc.review); });
  const actions = el('div', { class: 'panel' }, el('h3', { text: 'Decision' }),
    el('p', {}, 'State: ', el('span', { class: `badge ${inc.review}`, id: 'review-state', text: inc.review }), ' ',
      el('span', { class: `badge ${inc.phase}`, text: inc.phase })),
    canReview ? note : el('p', { class: 'muted', id: 'no-review', text: `Your role (${app.me.role}) can view incidents but not decide on them.` }),
    el('div', { class: 'actions' }, ...buttons), status);
  const facts = el('div', { class: 'panel' }, el('h3', { text: `${KIND_LABEL[inc.kind] || inc.kind}` }),
    el('p', { text: inc.summary }),
    el('p', { class: 'muted', text: `Camera ${inc.camera} · zone ${inc.zone_name || inc.zone_id} · severity ${inc.severity}` }),
    el('p', { class: 'muted', text: `Started ${fmtTime(inc.started_at_ms)} · dwell ${fmtDwell(inc.dwell_secs)}${inc.ended_at_ms ? ' · ended ' + fmtTime(inc.ended_at_ms) : ''}` }),
    el('p', { class: 'muted', text: `Incident ${inc.id}` }));
  box.replaceChildren(el('div', { class: 'detail', id: 'incident-detail', 'data-id': id, 'data-review': inc.review },
    el('div', {}, media),
    el('div', {}, facts, actions, el('div', { class: 'panel' }, el('h3', { text: 'Timeline' }), timeline),
      el('div', { class: 'panel' }, el('h3', { text: 'Objects (newest event)' }), objects))));
}

// ---------------------------------------------------------------- cameras, audit
async function loadCameras() {
  const { cameras, now_ms: now } = await api('/api/cameras');
  $('cameras').tBodies[0].replaceChildren(...cameras.map((c) => el('tr', { 'data-camera': c.id, 'data-state': c.state },
    el('td', { text: c.id }),
    el('td', { class: 'state-' + c.state, text: c.state }),
    el('td', { class: 'worker', text: c.worker || '' }),
    el('td', { class: 'fps', text: c.fps.toFixed(1) }),
    el('td', { text: fmtAge(c.last_frame_ms, now) }),
    el('td', { text: fmtTime(c.since_ms) }),
    el('td', { class: 'muted', text: c.last_error || '' }),
    el('td', {}, c.has_thumbnail ? el('img', { alt: `${c.id} picture`, src: `/evidence/cameras/${encodeURIComponent(c.id)}/thumbnail.jpg?t=${now}` }) : ''))));
}

async function loadAudit() {
  const { records } = await api('/api/audit?limit=200');
  $('audit').tBodies[0].replaceChildren(...records.map((r) => el('tr', {},
    el('td', { text: fmtTime(r.at_ms) }), el('td', { text: r.user }), el('td', { text: r.role }), el('td', { text: r.action }),
    el('td', { text: r.target }), el('td', { text: r.detail }), el('td', { text: r.remote }), el('td', { text: r.outcome }))));
}

// ---------------------------------------------------------------- routing
function show(view) {
  for (const v of ['feed', 'incident', 'cameras', 'audit']) $('view-' + v).hidden = v !== view;
  for (const [nav, v] of [['nav-feed', 'feed'], ['nav-cameras', 'cameras'], ['nav-audit', 'audit']]) $(nav).classList.toggle('active', v === view);
}

function route() {
  clearInterval(app.cameraTimer);
  const hash = location.hash || '#/';
  app.detailId = null;
  if (hash.startsWith('#/incident/')) {
    show('incident');
    showIncident(decodeURIComponent(hash.slice('#/incident/'.length)));
  } else if (hash === '#/cameras') {
    show('cameras');
    loadCameras().catch(() => {});
    app.cameraTimer = setInterval(() => loadCameras().catch(() => {}), 5000);
  } else if (hash === '#/audit') {
    show('audit');
    loadAudit().catch((e) => $('audit').tBodies[0].replaceChildren(el('tr', {}, el('td', { class: 'error', text: e.message }))));
  } else {
    show('feed');
    app.fresh = 0; updateTitle();
  }
}

async function startApp() {
  app.me = await api('/api/me');
  $('who').textContent = `${app.me.user} (${app.me.role})`;
  $('nav-audit').hidden = !app.me.can_audit;
  showMute();
  $('mute').addEventListener('click', () => { app.muted = !app.muted; localStorage.setItem('sw-muted', app.muted ? '1' : '0'); showMute(); });
  $('logout').addEventListener('click', async () => {
    try { await api('/logout', { method: 'POST' }); } finally { location.href = '/login'; }
  });
  $('filters').addEventListener('change', () => loadFeed(false).catch(() => {}));
  $('more').addEventListener('click', () => loadFeed(true).catch(() => {}));
  document.addEventListener('visibilitychange', () => { if (!document.hidden && !app.detailId) { app.fresh = 0; updateTitle(); } });
  window.addEventListener('hashchange', route);
  await loadFilters().catch(() => {});
  await loadFeed(false);
  openStream();
  setInterval(() => loadFilters().catch(() => {}), 60000);
  route();
}

function startLogin() {
  const q = new URLSearchParams(location.search);
  const error = $('login-error');
  if (q.has('failed')) { error.hidden = false; error.textContent = 'Wrong account name or password.'; }
  if (q.has('throttled')) { error.hidden = false; error.textContent = `Too many failed attempts; try again in ${q.get('throttled')} s.`; }
}

document.addEventListener('DOMContentLoaded', () => {
  if ($('login-form')) startLogin();
  else startApp().catch((e) => { setConn(false, 'error: ' + e.message); });
});
