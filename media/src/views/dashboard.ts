// Dashboard sections: servers, call totals, charts, per-tool statistics, policy notes.
import type { CallStats, DashboardState, ServerView } from '../../../src/protocol/ui';
import { barLayout, bucketSeries, linePoints, niceMax } from '../chart-geometry';
import { h, s, type Child } from '../dom';
import { formatMs, formatPercent, formatWindow, plural } from '../format';

const STATE_CLASS: Readonly<Record<string, string>> = {
  running: 'ok',
  starting: 'busy',
  restarting: 'busy',
  unhealthy: 'warn',
  'crash-looping': 'bad',
  failed: 'bad',
  stopped: 'idle',
};

export function renderServers(servers: readonly ServerView[]): Child {
  if (servers.length === 0) return h('p', { class: 'empty' }, 'No servers configured.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'servers' },
      h('caption', { class: 'sr-only' }, 'Supervised servers'),
      h(
        'thead',
        {},
        h('tr', {}, ...['Server', 'State', 'Uptime and restarts', 'Tools', 'Last error'].map((t) => h('th', { scope: 'col' }, t))),
      ),
      h(
        'tbody',
        {},
        servers.map((srv) =>
          h(
            'tr',
            { 'data-server': srv.name },
            h('th', { scope: 'row' }, srv.name, srv.builtin ? h('span', { class: 'tag' }, 'built-in') : null),
            h('td', {}, h('span', { class: `state state-${STATE_CLASS[srv.state] ?? 'idle'}` }, srv.state)),
            h('td', {}, srv.description, srv.pid !== undefined ? h('span', { class: 'muted' }, ` · pid ${srv.pid}`) : null),
            h('td', { class: 'num' }, srv.toolCount),
            h('td', { class: srv.lastError !== undefined ? 'error-text' : 'muted' }, srv.lastError ?? '–'),
          ),
        ),
      ),
    ),
  );
}

export function renderTotals(state: DashboardState): Child {
  const t = state.totals;
  const tile = (label: string, value: string, extra?: string): Child =>
    h('div', { class: 'tile' }, h('span', { class: 'tile-label' }, label), h('span', { class: 'tile-value' }, value), extra !== undefined ? h('span', { class: 'tile-extra' }, extra) : null);
  return h(
    'div',
    { class: 'tiles', role: 'group', 'aria-label': `Totals over the last ${formatWindow(state.windowMs)}` },
    tile('Calls', String(t.calls)),
    tile('Errors', String(t.errors), formatPercent(t.errorRate)),
    tile('Refused', String(t.refused ?? 0), 'denied, rejected, expired'),
    tile('p50', formatMs(t.p50Ms)),
    tile('p95', formatMs(t.p95Ms)),
    tile('p99', formatMs(t.p99Ms)),
  );
}

const CHART_W = 600;
const CHART_H = 120;

export function renderCharts(state: DashboardState): Child {
  const points = bucketSeries(state.series, 120);
  const minutesPerBar = state.series.length > 0 ? Math.max(1, Math.round(state.series.length / Math.max(1, points.length))) : 1;
  const callMax = niceMax(Math.max(0, ...points.map((p) => p.calls)));
  const bars = barLayout(points.map((p) => p.calls), CHART_W, CHART_H, callMax);
  const errorBars = barLayout(points.map((p) => p.errors), CHART_W, CHART_H, callMax);
  const total = points.reduce((n, p) => n + p.calls, 0);
  const peak = Math.max(0, ...points.map((p) => p.calls));
  const latMax = niceMax(Math.max(0, ...points.map((p) => p.p95Ms)));
  const worst = Math.max(0, ...points.map((p) => p.p95Ms));
  const per = minutesPerBar === 1 ? 'minute' : `${minutesPerBar} minutes`;
  const callsLabel = `Calls per ${per} over the last ${formatWindow(state.windowMs)}: ${total} in total, at most ${peak} per ${per}.`;
  const latencyLabel = `Latency over the last ${formatWindow(state.windowMs)}: p95 at most ${formatMs(worst)}.`;
  return h(
    'div',
    { class: 'charts' },
    h(
      'figure',
      { class: 'chart' },
      h('figcaption', {}, `Calls per ${per}`, h('span', { class: 'axis-max' }, `max ${callMax}`)),
      s(
        'svg',
        { viewBox: `0 0 ${CHART_W} ${CHART_H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': callsLabel, class: 'chart-svg' },
        s('title', {}, callsLabel),
        s('line', { x1: 0, y1: CHART_H - 0.5, x2: CHART_W, y2: CHART_H - 0.5, class: 'baseline' }),
        bars.map((b) => s('rect', { x: b.x, y: b.y, width: b.width, height: b.height, class: 'bar' })),
        errorBars.map((b) => (b.height > 0 ? s('rect', { x: b.x, y: b.y, width: b.width, height: b.height, class: 'bar error' }) : null)),
      ),
      h('div', { class: 'legend' }, h('span', { class: 'key calls' }, 'calls'), h('span', { class: 'key errors' }, 'errors')),
    ),
    h(
      'figure',
      { class: 'chart' },
      h('figcaption', {}, 'Latency', h('span', { class: 'axis-max' }, `max ${formatMs(latMax)}`)),
      s(
        'svg',
        { viewBox: `0 0 ${CHART_W} ${CHART_H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': latencyLabel, class: 'chart-svg' },
        s('title', {}, latencyLabel),
        s('line', { x1: 0, y1: CHART_H - 0.5, x2: CHART_W, y2: CHART_H - 0.5, class: 'baseline' }),
        s('polyline', { points: linePoints(points.map((p) => p.p95Ms), CHART_W, CHART_H, latMax), class: 'line p95', 'vector-effect': 'non-scaling-stroke' }),
        s('polyline', { points: linePoints(points.map((p) => p.p50Ms), CHART_W, CHART_H, latMax), class: 'line p50', 'vector-effect': 'non-scaling-stroke' }),
      ),
      h('div', { class: 'legend' }, h('span', { class: 'key p50' }, 'p50'), h('span', { class: 'key p95' }, 'p95')),
    ),
  );
}

export function renderTools(tools: readonly CallStats[]): Child {
  if (tools.length === 0) return h('p', { class: 'empty' }, 'No calls in this window.');
  const sorted = [...tools].sort((a, b) => b.calls - a.calls || a.server.localeCompare(b.server) || a.tool.localeCompare(b.tool));
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'tools' },
      h('caption', { class: 'sr-only' }, 'Calls per tool in the chosen window'),
      h('thead', {}, h('tr', {}, ...['Server', 'Tool', 'Calls', 'Errors', 'Error rate', 'Refused', 'p50', 'p95', 'p99'].map((t, i) => h('th', { scope: 'col', class: i >= 2 ? 'num' : undefined }, t)))),
      h(
        'tbody',
        {},
        sorted.map((t) =>
          h(
            'tr',
            {},
            h('td', {}, t.server),
            h('td', {}, h('code', {}, t.tool)),
            h('td', { class: 'num' }, t.calls),
            h('td', { class: 'num' }, t.errors),
            h('td', { class: `num ${t.errorRate > 0.1 ? 'error-text' : ''}` }, formatPercent(t.errorRate)),
            h('td', { class: 'num' }, t.refused ?? 0),
            h('td', { class: 'num' }, formatMs(t.p50Ms)),
            h('td', { class: 'num' }, formatMs(t.p95Ms)),
            h('td', { class: 'num' }, formatMs(t.p99Ms)),
          ),
        ),
      ),
    ),
  );
}

/** Read-only mode, policy problems and the tool budget: shown only when there is something to say. */
export function renderNotices(state: DashboardState): Child {
  const notes: Child[] = [];
  if (state.policy.readOnlyMode) notes.push(h('p', { class: 'notice' }, 'Read-only mode: every tool that is not read-only is denied.'));
  for (const problem of state.policy.problems) notes.push(h('p', { class: 'notice warning' }, `Policy: ${problem}`));
  const { total, limit } = state.toolBudget;
  if (total > limit) notes.push(h('p', { class: 'notice warning' }, `${plural(total, 'tool is', 'tools are')} offered, more than the ${limit} VS Code sends in one request: disable servers or tools you do not need.`));
  return notes;
}
