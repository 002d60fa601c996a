// Test Policy (what-if): pick a draft policy file, replay the recorded calls through it, see what
// would change, open an example's audit records. The host does the replay (`policy.test`).
import type { AuditRow, PolicyTestExample, PolicyTestView } from '../../../src/protocol/ui';
import { visible } from '../../../src/core/display/visible';
import { h, Slot, type Child } from '../dom';
import { formatClock, formatRule, plural } from '../format';

export interface PolicyTestActions {
  run(params: { name: string; text: string; layer?: 'user' | 'config' | 'workspace'; sinceMs: number }): Promise<PolicyTestView>;
  callRecords(callId: string): Promise<{ records: AuditRow[] }>;
  announce(text: string): void;
}

const SINCE = [
  ['1 day', 86_400_000],
  ['7 days', 7 * 86_400_000],
  ['30 days', 30 * 86_400_000],
] as const;

/** The Test Policy section: a draft picker, the replay's options and the report. */
export class PolicyTest {
  readonly el: HTMLElement;
  private readonly result: Slot;
  private readonly file: HTMLInputElement;
  private readonly layer: HTMLSelectElement;
  private readonly since: HTMLSelectElement;
  private readonly runButton: HTMLButtonElement;
  private draft: { name: string; text: string } | undefined;

  constructor(private readonly actions: PolicyTestActions) {
    this.file = h('input', { id: 'draft-file', type: 'file', accept: '.yaml,.yml,.json' });
    this.layer = h(
      'select',
      { id: 'draft-layer' },
      h('option', { value: '' }, "the operator's (default)"),
      (['user', 'config', 'workspace'] as const).map((l) => h('option', { value: l }, l)),
    );
    this.since = h('select', { id: 'draft-since' }, SINCE.map(([label, ms]) => h('option', { value: ms }, label)));
    this.since.value = String(7 * 86_400_000);
    this.runButton = h('button', { type: 'submit' }, 'Test draft');
    this.result = new Slot(h('div', { class: 'policy-test-result', 'aria-live': 'polite' }));
    this.file.addEventListener('change', () => {
      const f = this.file.files?.[0];
      if (f === undefined) return;
      void f.text().then((text) => {
        this.draft = { name: f.name, text };
        void this.run();
      });
    });
    const form = h(
      'form',
      { class: 'filters', 'aria-label': 'Test a draft policy' },
      h('label', { for: 'draft-file' }, 'Draft policy ', this.file),
      h('label', { for: 'draft-layer' }, 'Replaces layer ', this.layer),
      h('label', { for: 'draft-since' }, 'History ', this.since),
      this.runButton,
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.run();
    });
    this.el = h(
      'div',
      { class: 'policy-test' },
      h('p', { class: 'hint' }, 'Replays the recorded calls through a draft policy and shows what would change. Nothing is put in force.'),
      form,
      this.result.el,
    );
  }

  /** A draft the host picked (VS Code's Test Policy command): test it at once. */
  setDraft(name: string, text: string): void {
    this.draft = { name, text };
    void this.run();
  }

  private async run(): Promise<void> {
    if (this.draft === undefined) {
      this.actions.announce('Pick a draft policy file first.');
      return;
    }
    this.runButton.disabled = true;
    this.result.update(`running ${Math.random()}`, () => h('p', {}, `Replaying the history through ${visible(this.draft!.name)}…`));
    try {
      const layer = this.layer.value === '' ? undefined : (this.layer.value as 'user' | 'config' | 'workspace');
      const view = await this.actions.run({ name: this.draft.name, text: this.draft.text, sinceMs: Number(this.since.value), ...(layer ? { layer } : {}) });
      this.result.update(JSON.stringify(view), () => this.renderReport(view));
      this.actions.announce(view.loosens ? `The draft loosens ${plural(view.report.loosened, 'recorded call')}.` : 'The draft loosens nothing that was recorded.');
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.result.update(`error ${message}`, () => h('p', { class: 'error', role: 'alert' }, visible(message)));
    } finally {
      this.runButton.disabled = false;
    }
  }

  private renderReport(view: PolicyTestView): HTMLElement {
    const r = view.report;
    const verdict = view.loosens
      ? h('p', { class: 'verdict loosens', role: 'alert' }, `The draft LOOSENS ${plural(r.loosened, 'recorded call')}.`)
      : h('p', { class: 'verdict' }, 'The draft loosens nothing that was recorded.');
    const failed = view.tests.filter((t) => !t.ok);
    return h(
      'div',
      {},
      verdict,
      h(
        'p',
        {},
        `${visible(view.draft)} as the ${view.layer} layer (${visible(view.kept)}). History: ${view.source.verified ? 'live audit, verified with the key' : 'exported audit, not verified'}, ${plural(view.source.records, 'record')}${r.from ? `, ${formatClock(r.from)} to ${formatClock(r.to ?? r.from)}` : ''}.`,
      ),
      h(
        'ul',
        { class: 'counts' },
        h('li', {}, `${r.replayed} replayed`),
        h('li', {}, `${r.unchanged} unchanged`),
        h('li', {}, `${r.loosened} loosened`),
        h('li', {}, `${r.tightened} tightened`),
        h('li', {}, `${r.undecidable} undecidable`),
        r.withoutDecision > 0 ? h('li', {}, `${r.withoutDecision} without a decision (skipped)`) : null,
      ),
      r.groups.map((g) =>
        h(
          'section',
          { class: `whatif-group ${g.direction}` },
          h('h3', {}, `${g.direction === 'loosened' ? 'Loosened' : 'Tightened'}: ${g.from} → ${g.to} by ${visible(g.label)} (${plural(g.count, 'call')})`),
          this.examples(g.examples, g.count),
        ),
      ),
      r.undecidable > 0
        ? h(
            'section',
            { class: 'whatif-group undecidable' },
            h('h3', {}, `Undecidable: ${plural(r.undecidable, 'call')} (a rule tests a value the audit masked; never guessed)`),
            this.examples(r.undecidableExamples, r.undecidable),
          )
        : null,
      view.tests.length > 0
        ? h(
            'section',
            {},
            h('h3', {}, `Draft tests: ${view.tests.length - failed.length} of ${view.tests.length} passed`),
            failed.length > 0 ? h('ul', {}, failed.map((t) => h('li', { class: 'error' }, visible(`tests[${t.index}] ${t.name}: ${t.actual !== undefined ? `expected ${t.expected}, got ${t.actual}` : t.reason}`)))) : null,
          )
        : null,
    );
  }

  private examples(examples: readonly PolicyTestExample[], count: number): HTMLElement {
    const rows: Child[] = examples.map((e) => {
      const open = h('button', { type: 'button', class: 'secondary' }, 'Open');
      const detail = new Slot(h('div', { class: 'example-records' }));
      const cell = h('td', { colspan: 6 }, detail.el);
      const extra = h('tr', { hidden: true }, cell);
      open.addEventListener('click', () => {
        if (!extra.hidden) {
          extra.hidden = true;
          return;
        }
        extra.hidden = false;
        detail.update('loading', () => h('p', {}, 'Loading the audit records of this call…'));
        void this.actions.callRecords(e.callId).then(
          ({ records }) => detail.update(JSON.stringify(records), () => renderRecords(records)),
          (err: unknown) => detail.update('error', () => h('p', { class: 'error' }, visible(String(err)))),
        );
      });
      const what = e.draft ? `${e.recorded.decision} → ${e.draft.decision}` : `recorded ${e.recorded.decision}; unknown: ${(e.unknown ?? []).join(', ')}`;
      return [
        h(
          'tr',
          {},
          h('td', {}, formatClock(e.ts)),
          h('td', {}, visible(`${e.server}/${e.tool}`)),
          h('td', { class: 'args' }, h('code', {}, visible(e.args))),
          h('td', {}, what),
          h('td', {}, visible(formatRule(e.recorded.rule))),
          h('td', {}, open),
        ),
        extra,
      ];
    });
    return h(
      'div',
      {},
      h('table', {}, h('thead', {}, h('tr', {}, ['Time', 'Call', 'Arguments', 'Decision', 'Recorded rule', ''].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows)),
      count > examples.length ? h('p', { class: 'hint' }, `… and ${count - examples.length} more`) : null,
    );
  }
}

function renderRecords(records: readonly AuditRow[]): HTMLElement {
  if (records.length === 0) return h('p', {}, 'No records of this call in the audit (it may be older than the log kept).');
  const ordered = [...records].sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.seq - b.seq));
  return h(
    'ol',
    {},
    ordered.map((r) => h('li', {}, visible(`${formatClock(r.ts)} ${r.type}${r.decision ? ` ${r.decision}` : ''}${r.outcome ? ` ${r.outcome}` : ''}${r.reason ? `: ${r.reason}` : ''}${r.error ? ` (${r.error})` : ''}`))),
  );
}
