// The live dashboard: reads the control API with the token it was given (read-only or write),
// follows the WebSocket tick stream for temperatures, prices, winners and decisions, and the
// daemon's state each second for wallets, phases and where every figure comes from.
// Plain browser JavaScript and Apache ECharts, served by the daemon: no build step.
'use strict';

const HISTORY_S = 120;
const MAX_DECISIONS = 5000;
const ROUTINE = new Set(['pause', 'resume']);

const view = {
  token: null,
  access: null,
  ticksSeen: 0,
  lastTick: null,
  temperature: [],
  reserve: [],
  clearing: [],
  wallets: new Map(),
  deaths: new Map(),
  decisions: [],
  decisionKeys: new Set(),
  state: null,
  charts: {},
  dirty: false,
};
// For tests and the curious: the page's state, read-only by convention.
window.maxwellDashboard = view;

const $ = (id) => document.getElementById(id);
// JSON carries NaN as null: show a dash, never a made-up zero.
const fixed = (value, digits) => (typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '—');

function takeToken() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const fromHash = hash.get('token');
  if (fromHash) {
    sessionStorage.setItem('maxwell-token', fromHash);
    // Out of the address bar and the history: a token is not for screenshots or bookmarks.
    history.replaceState(null, '', location.pathname);
  }
  return sessionStorage.getItem('maxwell-token');
}

async function api(path, init = {}) {
  const response = await fetch(path, { ...init, headers: { authorization: `Bearer ${view.token}`, ...(init.headers || {}) } });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error(body && body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

function setStatus(text, kind) {
  const el = $('status');
  el.textContent = text;
  el.className = `badge ${kind}`;
}

function showLogin(message) {
  $('main').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
}

async function start() {
  view.token = takeToken();
  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem('maxwell-token', $('token-input').value.trim());
    location.reload();
  });
  if (!view.token) return showLogin();
  try {
    view.access = (await api('/v1/access')).access;
  } catch (err) {
    sessionStorage.removeItem('maxwell-token');
    return showLogin(err.status === 401 ? 'That token is wrong (or belongs to a daemon that has restarted).' : String(err.message));
  }
  $('access').textContent = view.access === 'write' ? 'write token: agents can be stopped here' : 'read-only view';
  $('login').hidden = true;
  $('main').hidden = false;
  makeCharts();
  $('decision-filter').addEventListener('input', renderDecisions);
  $('hide-routine').addEventListener('change', renderDecisions);
  for (const d of (await api('/v1/decisions?limit=1000')).decisions) addDecision(d);
  await pollState();
  setInterval(pollState, 1000);
  connect();
  setInterval(render, 250);
}

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const socket = new WebSocket(`${scheme}://${location.host}/v1/ticks?token=${encodeURIComponent(view.token)}`);
  socket.addEventListener('open', () => setStatus('live', 'live'));
  socket.addEventListener('message', (message) => onTick(JSON.parse(message.data)));
  socket.addEventListener('close', () => {
    setStatus('disconnected: retrying', 'down');
    setTimeout(connect, 2000);
  });
}

function onTick(event) {
  view.ticksSeen += 1;
  view.lastTick = event;
  const t = event.atMs / 1000;
  // Charts take one point in ten (10 Hz is plenty for the eye); decisions are all kept.
  if (event.tick % 10 === 0) {
    view.temperature.push([t, ...event.temperaturesC]);
    view.reserve.push([t, ...event.reservePerQuantumJ]);
    trim(view.temperature, t);
    trim(view.reserve, t);
  }
  for (const award of event.awards) {
    if (event.tick % 10 === 0) view.clearing.push([t, award.unit, award.paymentJ, award.agentId]);
  }
  trim(view.clearing, t);
  for (const d of event.decisions) addDecision(d);
  view.dirty = true;
}

function trim(series, now) {
  while (series.length > 0 && series[0][0] < now - HISTORY_S) series.shift();
}

function addDecision(d) {
  const key = `${d.tick}|${d.action}|${d.agentId}|${d.because}`;
  if (view.decisionKeys.has(key)) return;
  view.decisionKeys.add(key);
  view.decisions.push(d);
  if (view.decisions.length > MAX_DECISIONS) {
    const old = view.decisions.shift();
    view.decisionKeys.delete(`${old.tick}|${old.action}|${old.agentId}|${old.because}`);
  }
  view.decisionsDirty = true;
}

async function pollState() {
  try {
    const { snapshot } = await api('/v1/state');
    view.state = snapshot;
    const t = snapshot.uptimeMs / 1000;
    for (const agent of snapshot.agents) {
      const series = view.wallets.get(agent.id) || [];
      series.push([t, agent.balanceJ]);
      while (series.length > HISTORY_S * 2) series.shift();
      view.wallets.set(agent.id, series);
      if (agent.phase === 'dead' && !view.deaths.has(agent.id)) {
        view.deaths.set(agent.id, { t, balanceJ: agent.balanceJ, reason: agent.ended ? agent.ended.reason : 'ended' });
      }
    }
    renderBook();
    renderSensors();
    $('clock').textContent = `tick ${snapshot.tick} · up ${Math.round(t)} s · ${fixed(snapshot.powerW, 1)} W`;
  } catch (err) {
    setStatus(`state unavailable: ${err.message}`, 'down');
  }
}

function lineSeries(name, data) {
  return { name, type: 'line', showSymbol: false, data, animation: false };
}

function makeCharts() {
  const base = { animation: false, grid: { left: 56, right: 16, top: 28, bottom: 28 }, tooltip: { trigger: 'axis' }, legend: { top: 0 }, xAxis: { type: 'value', name: 's', scale: true }, yAxis: { type: 'value', scale: true } };
  for (const id of ['temperature', 'price', 'wallets']) {
    const chart = echarts.init($(`chart-${id}`));
    chart.setOption(base);
    view.charts[id] = chart;
  }
  window.addEventListener('resize', () => Object.values(view.charts).forEach((c) => c.resize()));
}

function render() {
  if (view.decisionsDirty) {
    view.decisionsDirty = false;
    renderDecisions();
  }
  if (!view.dirty) return;
  view.dirty = false;
  const cores = view.lastTick ? view.lastTick.temperaturesC.length : 0;
  const perCore = (rows, core) => rows.map((r) => [r[0], r[core + 1]]);
  view.charts.temperature.setOption({ series: Array.from({ length: cores }, (_, c) => lineSeries(`core ${c}`, perCore(view.temperature, c))) });
  const clearing = Array.from({ length: cores }, (_, c) => ({
    name: `paid, core ${c}`, type: 'scatter', symbolSize: 4, animation: false,
    data: view.clearing.filter((r) => r[1] === c).map((r) => [r[0], r[2]]),
  }));
  view.charts.price.setOption({ series: [...Array.from({ length: cores }, (_, c) => lineSeries(`reserve, core ${c}`, perCore(view.reserve, c))), ...clearing] });
  const wallets = [...view.wallets].map(([id, data]) => {
    const death = view.deaths.get(id);
    return {
      ...lineSeries(id, data),
      markPoint: death ? { symbol: 'pin', symbolSize: 36, data: [{ name: `✝ ${id}`, coord: [death.t, death.balanceJ], value: '✝', label: { formatter: `✝ ${id} (${death.reason})`, position: 'top' } }] } : undefined,
    };
  });
  view.charts.wallets.setOption({ series: wallets });
}

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function renderBook() {
  const body = $('book').querySelector('tbody');
  body.replaceChildren();
  const agents = [...view.state.agents].sort((a, b) => (b.bid ? b.bid.pricePerQuantumJ : -1) - (a.bid ? a.bid.pricePerQuantumJ : -1));
  const winners = new Map((view.lastTick ? view.lastTick.awards : []).map((a) => [a.agentId, a]));
  for (const agent of agents) {
    const row = document.createElement('tr');
    row.className = agent.phase;
    row.dataset.agent = agent.id;
    const name = cell(row, agent.id, 'agent-link');
    name.addEventListener('click', () => {
      $('decision-filter').value = agent.id;
      renderDecisions();
    });
    cell(row, agent.phase === 'dead' ? `✝ dead (${agent.ended ? agent.ended.reason : ''})` : agent.phase);
    cell(row, agent.bid ? agent.bid.pricePerQuantumJ.toFixed(4) : '—', 'n');
    cell(row, fixed(agent.balanceJ, 2), 'n');
    const won = winners.get(agent.id);
    cell(row, won ? `won core ${won.unit} @ ${won.paymentJ.toFixed(4)} J` : '', won ? 'winner' : '');
    const actions = cell(row, '');
    if (view.access === 'write' && agent.phase !== 'dead') {
      const stop = document.createElement('button');
      stop.textContent = 'stop';
      stop.addEventListener('click', async () => {
        if (!confirm(`Stop ${agent.id}? It gets SIGTERM and its wallet is settled.`)) return;
        try {
          await api(`/v1/agents/${encodeURIComponent(agent.id)}`, { method: 'DELETE' });
        } catch (err) {
          alert(err.message);
        }
      });
      actions.appendChild(stop);
    }
    body.appendChild(row);
  }
}

function renderDecisions() {
  const filter = $('decision-filter').value.trim();
  const hideRoutine = $('hide-routine').checked;
  const rows = [];
  for (let i = view.decisions.length - 1; i >= 0 && rows.length < 300; i--) {
    const d = view.decisions[i];
    if (filter && d.agentId !== filter) continue;
    if (hideRoutine && ROUTINE.has(d.action)) continue;
    rows.push(d);
  }
  const body = $('decisions').querySelector('tbody');
  body.replaceChildren();
  for (const d of rows) {
    const row = document.createElement('tr');
    row.className = d.action;
    row.dataset.agent = d.agentId || '';
    cell(row, String(d.tick), 'n');
    cell(row, d.action);
    cell(row, d.agentId || '—');
    cell(row, d.because);
    body.appendChild(row);
  }
}

function renderSensors() {
  const s = view.state;
  const body = $('sensors').querySelector('tbody');
  body.replaceChildren();
  const add = (what, value, source) => {
    const row = document.createElement('tr');
    cell(row, what);
    cell(row, value, 'n');
    cell(row, source);
    body.appendChild(row);
  };
  for (const p of s.planes) add(`core ${p.unit} temperature`, `${fixed(p.temperatureC, 2)} °C`, p.temperatureSource);
  add('package power', `${fixed(s.powerW, 2)} W`, s.energySource);
  add('foreign load', `${(s.foreignLoad.fraction * 100).toFixed(1)} %`, `${s.foreignLoad.measured ? 'measured' : 'not measured'}; policy ${s.foreignLoad.policy}`);
  add('claim verification', '', s.verification.method);
  add('Maxwell’s own CPU', `${fixed(s.overheadFraction * 100, 2)} % of a core`, 'measured: process.cpuUsage');
  add('auction clearing p99', `${fixed(s.clearingP99Ms, 3)} ms`, 'measured: monotonic clock');
  $('temperature-source').textContent = s.planes.length > 0 ? s.planes[0].temperatureSource : '';
}

start();
