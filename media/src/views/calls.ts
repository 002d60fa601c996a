// Recent calls from the audit log: live from state, or a filtered query with paging.
import type { AuditFilter, AuditRow } from '../../../src/protocol/ui';
import { CALL_OUTCOMES, outcomeClass } from '../../../src/core/outcome';
import { visible } from '../../../src/core/display/visible';
import { h, Slot, type Child } from '../dom';
import { formatClock, formatMs } from '../format';
import { undoButton } from './undo';

export interface AuditQuery {
  (filter: AuditFilter, cursor: string | undefined): Promise<{ records: AuditRow[]; nextCursor?: string }>;
}

const OUTCOMES = CALL_OUTCOMES;
const TYPES = ['call.completed', 'call.failed', 'call.requested', 'policy.decided', 'approval.requested', 'approval.decided'] as const;

/** The recent-calls section: a filter form and a table. Without filters the table follows the live state. */
export class RecentCalls {
  readonly el: HTMLElement;
  private readonly table: Slot;
  private readonly summary: HTMLParagraphElement;
  private readonly serverSelect: HTMLSelectElement;
  private readonly toolInput: HTMLInputElement;
  private readonly outcomeSelect: HTMLSelectElement;
  private readonly typeSelect: HTMLSelectElement;
  private readonly more: HTMLButtonElement;
  private live: readonly AuditRow[] = [];
  private servers: readonly string[] = [];
  private query: { filter: AuditFilter; rows: AuditRow[]; nextCursor?: string } | undefined;
  private busy = false;

  constructor(private readonly run: AuditQuery) {
    this.serverSelect = h('select', { id: 'filter-server', 'data-key': 'filter-server' }, h('option', { value: '' }, 'any'));
    this.toolInput = h('input', { id: 'filter-tool', type: 'text', 'data-key': 'filter-tool', placeholder: 'any', autocomplete: 'off', spellcheck: 'false' });
    this.outcomeSelect = h('select', { id: 'filter-outcome' }, h('option', { value: '' }, 'any'), OUTCOMES.map((o) => h('option', { value: o }, o)));
    this.typeSelect = h('select', { id: 'filter-type' }, h('option', { value: '' }, 'completed or failed'), TYPES.map((t) => h('option', { value: t }, t)));
    const form = h(
      'form',
      { class: 'filters', 'aria-label': 'Filter recent calls' },
      field('Server', 'filter-server', this.serverSelect),
      field('Tool', 'filter-tool', this.toolInput),
      field('Outcome', 'filter-outcome', this.outcomeSelect),
      field('Record', 'filter-type', this.typeSelect),
      h('div', { class: 'buttons' }, h('button', { type: 'submit' }, 'Apply filters'), h('button', { type: 'reset', class: 'secondary' }, 'Clear')),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.apply();
    });
    form.addEventListener('reset', () => {
      this.query = undefined;
      this.render();
    });
    this.summary = h('p', { class: 'muted', role: 'status' });
    this.more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more');
    this.more.addEventListener('click', () => void this.loadMore());
    this.table = new Slot(h('div', { class: 'calls-table' }));
    this.el = h('div', {}, form, this.summary, this.table.el, this.more);
  }

  /** New state: the live rows and the servers to filter by. */
  update(rows: readonly AuditRow[], servers: readonly string[]): void {
    this.live = rows;
    if (servers.join('\u0000') !== this.servers.join('\u0000')) {
      this.servers = servers;
      const chosen = this.serverSelect.value;
      this.serverSelect.replaceChildren(h('option', { value: '' }, 'any'), ...servers.map((name) => h('option', { value: name }, name)));
      this.serverSelect.value = servers.includes(chosen) ? chosen : '';
    }
    if (this.query === undefined) this.render();
  }

  private filter(): AuditFilter {
    const filter: AuditFilter = {};
    if (this.serverSelect.value !== '') filter.server = this.serverSelect.value;
    if (this.toolInput.value.trim() !== '') filter.tool = this.toolInput.value.trim();
    if (this.outcomeSelect.value !== '') filter.outcome = this.outcomeSelect.value;
    if (this.typeSelect.value !== '') filter.type = this.typeSelect.value;
    return filter;
  }

  private async apply(): Promise<void> {
    const filter = this.filter();
    if (Object.keys(filter).length === 0) {
      this.query = undefined;
      this.render();
      return;
    }
    await this.fetch(filter, undefined, []);
  }

  private async loadMore(): Promise<void> {
    if (this.query?.nextCursor === undefined) return;
    await this.fetch(this.query.filter, this.query.nextCursor, this.query.rows);
  }

  private async fetch(filter: AuditFilter, cursor: string | undefined, before: AuditRow[]): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.summary.textContent = 'Searching the audit log…';
    try {
      const page = await this.run(filter, cursor);
      this.query = { filter, rows: [...before, ...page.records], ...(page.nextCursor !== undefined ? { nextCursor: page.nextCursor } : {}) };
    } catch (err) {
      this.summary.textContent = visible(`The audit query failed: ${err instanceof Error ? err.message : String(err)}`);
      return;
    } finally {
      this.busy = false;
    }
    this.render();
  }

  private render(): void {
    const rows = this.query?.rows ?? this.live;
    this.summary.textContent = this.query !== undefined ? `${rows.length} matching record${rows.length === 1 ? '' : 's'}${this.query.nextCursor !== undefined ? ' so far' : ''}.` : 'Latest calls, live.';
    this.more.hidden = this.query?.nextCursor === undefined;
    this.table.update(JSON.stringify(rows.map((r) => [r.instance, r.seq])), () => renderRows(rows));
  }
}

function field(label: string, id: string, control: HTMLElement): Child {
  return h('div', { class: 'field' }, h('label', { for: id }, label), control);
}

function result(row: AuditRow): { text: string; tone: string } {
  const text = row.outcome ?? row.decision ?? row.type.replace(/^call\./, '');
  // Outcomes by their class: a human's rejection or a denial is the oversight working (warn), a
  // caller that went away is neither good nor bad (idle); only errors are red.
  const cls = row.outcome !== undefined ? outcomeClass(row.outcome) : undefined;
  const tone =
    cls === 'ok' || text === 'allow' || text === 'approved' || text === 'completed'
      ? 'ok'
      : cls === 'refused' || text === 'deny' || text === 'rejected' || text === 'expired'
        ? 'warn'
        : cls === 'abandoned'
          ? 'idle'
          : text === 'approve' || text === 'requested'
            ? 'busy'
            : 'bad';
  return { text, tone };
}

function renderRows(rows: readonly AuditRow[]): Child {
  if (rows.length === 0) return h('p', { class: 'empty' }, 'No calls.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'calls' },
      h('caption', { class: 'sr-only' }, 'Calls from the audit log, newest first'),
      h('thead', {}, h('tr', {}, ...['Time', 'Server', 'Tool', 'Client', 'Result', 'Duration', 'Detail'].map((t) => h('th', { scope: 'col', class: t === 'Duration' ? 'num' : undefined }, t)))),
      h(
        'tbody',
        {},
        rows.map((row) => {
          const r = result(row);
          return h(
            'tr',
            {},
            h('td', { title: row.ts }, formatClock(row.ts)),
            h('td', {}, row.server ?? '–'),
            h('td', {}, row.tool !== undefined ? h('code', {}, row.tool) : '–'),
            h('td', {}, row.principal !== undefined ? `${row.principal}${row.client !== undefined ? ` · ${row.client}` : ''}` : (row.client ?? '–')),
            h('td', {}, h('span', { class: `pill tone-${r.tone}` }, r.text)),
            h('td', { class: 'num' }, row.durationMs !== undefined ? formatMs(row.durationMs) : '–'),
            h(
              'td',
              { class: 'detail' },
              row.error ?? row.reason ?? '',
              row.undoOf !== undefined ? h('span', { class: 'muted' }, `undo of ${row.undoOf.slice(0, 8)}`) : null,
              row.undo?.undoable === true && row.callId !== undefined && row.type === 'call.completed' ? undoButton(row.callId, `${row.tool ?? 'call'} on ${row.server ?? '?'}`) : null,
              row.undo?.undoable === false ? h('span', { class: 'muted', title: row.undo.reason }, 'not undoable') : null,
            ),
          );
        }),
      ),
    ),
  );
}
