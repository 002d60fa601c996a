// Pending approvals (keyed cards that survive re-renders, so focus and a typed reason stay) and
// the history of decided ones.
import type { ApprovalView } from '../../../src/protocol/ui';
import { classifyPreview } from '../diff';
import { displayArgs, formatEffect, visible } from '../../../src/core/display/visible';
import { undoButton } from './undo';
import { h, shown, type Child } from '../dom';
import { formatClient, formatClock, formatCountdown, formatRule, plural } from '../format';
import { describeDecider } from '../../../src/extension/wording';

/** What the host answered to a decision: the status, the four-eyes note, who it was recorded as. */
export interface DecisionAnswer {
  status?: ApprovalView['status'];
  note?: string;
  decidedBy?: string;
}

export interface ApprovalActions {
  /** Sends the human's decision, bound to the digest this card shows. Rejects with the host's message. */
  decide(approval: ApprovalView, approve: boolean, reason: string): Promise<DecisionAnswer | void>;
  /** Says something to screen readers (an aria-live region). */
  announce(text: string): void;
  /**
   * "Allow this tool from now on…" (VS Code only, cards with `canAlwaysAllow`): the host asks in a
   * modal dialog naming the rule; resolves with what it wrote or why not.
   */
  allowTool?(approval: ApprovalView): Promise<{ written: boolean; message: string }>;
}

interface Card {
  readonly el: HTMLLIElement;
  readonly approval: ApprovalView;
}

/** What a person reads in a button or a heading: "delete_thing on fx". */
export function subject(a: Pick<ApprovalView, 'tool' | 'server'>): string {
  return `${a.tool} on ${a.server}`;
}

/** What the card says once the host recorded the decision. */
export function decidedText(yes: boolean, answer: DecisionAnswer | void): string {
  const who = answer?.decidedBy !== undefined ? ` ${describeDecider(answer.decidedBy).replace(/ \(signed in at \/ui\)$/, '')}` : '';
  if (answer?.status === 'pending') return `Your approval is recorded${who}: ${answer.note ?? 'it waits for another approver'}.`;
  if (answer?.status === 'expired') return 'It expired before the decision: the call gets an error.';
  return yes ? `Approved${who}: the call runs now.` : `Rejected${who}: the call gets an error.`;
}

/** Where a list of cards sits: ids of its elements, its heading, what it says when empty. */
export interface PendingListOptions {
  /** Prefix of element ids (several lists on one page). Default ''. */
  readonly idPrefix?: string;
  readonly title?: string;
  readonly emptyText?: string;
}

/** The pending approvals section: one card per approval, keyed by id. */
export class PendingApprovals {
  readonly el: HTMLElement;
  private readonly heading: HTMLHeadingElement;
  private readonly list: HTMLUListElement;
  private readonly empty: HTMLParagraphElement;
  private readonly cards = new Map<string, Card>();
  private seen = false;
  private readonly prefix: string;
  private readonly title: string;

  constructor(private readonly actions: ApprovalActions, headingLevel: 'h2' | 'h3' = 'h2', options: PendingListOptions = {}) {
    this.prefix = options.idPrefix ?? '';
    this.title = options.title ?? 'Pending approvals';
    const headingId = `${this.prefix}pending-heading`;
    this.heading = h(headingLevel, { id: headingId, tabindex: -1 }, this.title);
    this.list = h('ul', { class: 'approvals', 'aria-labelledby': headingId });
    this.empty = h('p', { class: 'empty' }, options.emptyText ?? 'No approvals pending.');
    this.el = h('section', { class: 'pending', 'aria-labelledby': headingId }, this.heading, this.empty, this.list);
  }

  update(pending: readonly ApprovalView[]): void {
    const ids = new Set(pending.map((a) => a.id));
    const focusedCard = [...this.cards.values()].find((c) => c.el.contains(document.activeElement));
    let nextFocus: Card | undefined;
    for (const [id, card] of this.cards) {
      if (ids.has(id)) continue;
      if (card === focusedCard) nextFocus = this.neighbour(card, ids);
      card.el.remove();
      this.cards.delete(id);
    }
    const fresh: ApprovalView[] = [];
    let before: Element | null = null;
    // Oldest first, as the backend sends them; new cards go in place.
    for (const approval of [...pending].reverse()) {
      let card = this.cards.get(approval.id);
      if (card === undefined) {
        card = { el: this.renderCard(approval), approval };
        this.cards.set(approval.id, card);
        fresh.push(approval);
      }
      if (card.el.nextElementSibling !== before || card.el.parentElement !== this.list) this.list.insertBefore(card.el, before);
      before = card.el;
    }
    this.empty.hidden = pending.length > 0;
    this.heading.textContent = pending.length > 0 ? `${this.title} (${pending.length})` : this.title;
    if (focusedCard !== undefined && !ids.has(focusedCard.approval.id)) {
      // The safe choice is the default: focus lands on the next card's Reject, never on Approve.
      (nextFocus?.el.querySelector<HTMLElement>('button.reject') ?? this.heading).focus();
    }
    if (!this.seen) {
      this.seen = true;
      if (pending.length > 0) this.actions.announce(`${plural(pending.length, 'approval')} pending`);
    } else {
      for (const a of fresh) this.actions.announce(`Approval needed: ${subject(a)}, asked by ${formatClient(a.client)}`);
    }
  }

  /** Updates the "expires in" countdowns. */
  tick(now: number): void {
    for (const { el, approval } of this.cards.values()) {
      const countdown = el.querySelector('.countdown');
      if (countdown !== null) countdown.textContent = countdownText(approval.expiresAt - now);
    }
  }

  private neighbour(card: Card, stillPending: ReadonlySet<string>): Card | undefined {
    const order = [...this.list.children];
    const at = order.indexOf(card.el);
    const candidates = [...order.slice(at + 1), ...order.slice(0, at).reverse()];
    for (const el of candidates) {
      const c = [...this.cards.values()].find((x) => x.el === el);
      if (c !== undefined && stillPending.has(c.approval.id)) return c;
    }
    return undefined;
  }

  private renderCard(a: ApprovalView): HTMLLIElement {
    const titleId = `approval-${this.prefix}${a.id}-title`;
    const reasonId = `approval-${this.prefix}${a.id}-reason`;
    const status = h('p', { class: 'card-status', role: 'status' });
    const reason = h('input', { id: reasonId, type: 'text', maxlength: 500, autocomplete: 'off', placeholder: 'Why (kept in the audit log)' });
    const approve = h('button', { type: 'button', class: 'approve', 'aria-label': `Approve ${subject(a)}`, 'data-approval': a.id }, 'Approve');
    const reject = h('button', { type: 'button', class: 'reject secondary', 'aria-label': `Reject ${subject(a)}`, 'data-approval': a.id }, 'Reject');
    let busy = false;
    // aria-disabled rather than disabled: a disabled button would drop keyboard focus to <body>.
    const setBusy = (value: boolean): void => {
      busy = value;
      for (const b of [approve, reject]) b.setAttribute('aria-disabled', String(value));
    };
    const decide = (yes: boolean): void => {
      if (busy) return;
      setBusy(true);
      status.className = 'card-status';
      status.textContent = yes ? 'Approving…' : 'Rejecting…';
      this.actions.decide(a, yes, reason.value).then(
        (answer) => {
          status.textContent = visible(decidedText(yes, answer));
          // A four-eyes vote: the card stays, and its buttons would only be refused now.
          if (answer?.status === 'pending') status.className = 'card-status note';
        },
        (err: unknown) => {
          setBusy(false);
          status.className = 'card-status error';
          status.setAttribute('role', 'alert');
          status.textContent = visible(`Not recorded: ${err instanceof Error ? err.message : String(err)}`);
        },
      );
    };
    approve.addEventListener('click', () => decide(true));
    reject.addEventListener('click', () => decide(false));
    const allowTool = this.actions.allowTool;
    const always =
      a.canAlwaysAllow === true && allowTool !== undefined
        ? h('button', { type: 'button', class: 'always-allow secondary', 'aria-label': `Allow ${a.tool} on ${a.server} from now on (asks first)`, 'data-approval': a.id }, 'Allow this tool from now on…')
        : null;
    always?.addEventListener('click', () => {
      if (busy || allowTool === undefined) return;
      status.className = 'card-status';
      status.textContent = 'Asking in VS Code…';
      allowTool(a).then(
        (r) => {
          status.textContent = visible(r.message);
        },
        (err: unknown) => {
          status.className = 'card-status error';
          status.textContent = visible(`Not written: ${err instanceof Error ? err.message : String(err)}`);
        },
      );
    });
    return h(
      'li',
      { class: 'approval', 'data-approval-id': a.id, 'aria-labelledby': titleId },
      h(
        'article',
        {},
        h(
          'header',
          { class: 'approval-head' },
          h('h3', { id: titleId }, h('code', {}, a.tool), ' on ', h('strong', {}, a.server)),
          a.kind !== 'tool' ? h('span', { class: 'pill' }, a.kind) : null,
          h('span', { class: 'countdown', 'aria-hidden': 'true' }, countdownText(a.expiresAt - Date.now())),
        ),
        h('p', { class: 'approval-reason' }, a.reason),
        h(
          'dl',
          { class: 'facts' },
          fact('Client', formatClient(a.client)),
          a.requestedBy !== undefined ? fact('Requested by', visible(`${a.requestedBy}${a.requestedByRoles !== undefined ? ` (${a.requestedByRoles.length > 0 ? a.requestedByRoles.join(', ') : 'no role'})` : ''}`)) : null,
          a.approvals !== undefined ? fact('Approvals', visible(`${a.approvals.given} of ${a.approvals.required} different approvers${a.approvals.by.length > 0 ? ` (${a.approvals.by.join(', ')})` : ''}`)) : null,
          fact('Rule', formatRule(a.rule)),
          fact('Asked', formatClock(a.createdAt)),
          fact('Expires', formatClock(a.expiresAt)),
          fact('Digest', h('code', { title: a.digest }, `${a.digest.slice(0, 12)}…`)),
        ),
        a.effect !== undefined ? [h('h4', {}, 'Changes'), h('pre', { class: 'args effect', tabindex: 0, 'aria-label': `What ${subject(a)} changes` }, shown(formatEffect(a.effect).join('\n')))] : null,
        h('h4', {}, 'Arguments'),
        renderArgs(a),
        h('h4', {}, 'Preview'),
        renderPreview(a.preview),
        h('div', { class: 'decision' }, h('label', { for: reasonId }, 'Reason (optional)'), reason, h('div', { class: 'buttons' }, approve, reject), always),
        status,
      ),
    );
  }
}

/**
 * The arguments as they will run, flags first and free text last (`displayArgs`): each on its own
 * line, a multi-line value's lines marked `│`, values that look like secrets shown and marked.
 */
export function renderArgs(a: Pick<ApprovalView, 'args' | 'secretPaths' | 'tool' | 'server'>): HTMLElement {
  const rows = displayArgs(a.args, a.secretPaths ? { secretPaths: a.secretPaths } : {});
  return h(
    'div',
    { class: 'args-block' },
    a.secretPaths?.length ? h('p', { class: 'preview-note warning' }, 'Values marked ⚠ look like secrets. They are shown because they run as shown; logs, the audit and the agent get them masked.') : null,
    h(
      'pre',
      { class: 'args', tabindex: 0, 'aria-label': `Arguments of ${subject(a)}` },
      rows.length === 0
        ? '(no arguments)'
        : rows.map((r) => {
            const [first = '', ...rest] = r.lines;
            return h(
              'span',
              { class: `arg arg-${r.group}${r.secret ? ' arg-secret' : ''}` },
              h('span', { class: 'arg-path' }, shown(r.path)),
              ': ',
              shown(first),
              rest.map((l) => ['\n  │ ', shown(l)]),
              r.secret ? h('span', { class: 'secret-mark', title: 'looks like a secret' }, '  ⚠ looks like a secret') : null,
              '\n',
            );
          }),
    ),
  );
}

function countdownText(ms: number): string {
  return ms > 0 ? `expires in ${formatCountdown(ms)}` : 'expiring…';
}

function fact(term: string, value: Child): Child {
  return [h('dt', {}, term), h('dd', {}, value)];
}

/** A preview: a unified diff with coloured lines, other text as is, or why there is none. */
export function renderPreview(preview: ApprovalView['preview']): HTMLElement {
  if (preview.status !== 'ok' || preview.text === undefined) {
    const text =
      preview.status === 'failed'
        ? `The preview failed: ${preview.note ?? 'no reason given'}. Judge by the arguments.`
        : preview.status === 'untrusted'
          ? `No preview: ${preview.note ?? 'previews from third-party servers are not trusted'}.`
          : (preview.note ?? 'This tool has no preview: judge by the arguments.');
    return h('p', { class: `preview-note ${preview.status === 'failed' ? 'warning' : ''}` }, text);
  }
  const classified = classifyPreview(preview.text);
  const label = classified.diff ? `Preview: diff, ${classified.added} added and ${classified.removed} removed lines` : 'Preview';
  return h(
    'div',
    { class: 'preview' },
    h(
      'pre',
      { class: classified.diff ? 'diff' : 'listing', tabindex: 0, 'aria-label': label },
      classified.lines.map((line) => h('span', { class: `line ${line.kind}` }, line.text.length > 0 ? line.text : ' ')),
    ),
    preview.truncated === true ? h('p', { class: 'preview-note' }, 'The preview was cut to fit; the arguments are complete.') : null,
    preview.secretLooking === true ? h('p', { class: 'preview-note warning' }, 'The preview holds text that looks like a secret (shown as it is).') : null,
  );
}

/** An approved tool call of a server (not the control plane's own action) may have an undo: the preview says. */
function undoable(a: ApprovalView): boolean {
  return a.status === 'approved' && a.kind === 'tool' && a.callId !== undefined && a.server !== 'mcpcp';
}

/** Decided approvals, newest first: a table, or a compact list for a narrow sidebar. */
export function renderHistory(history: readonly ApprovalView[], limit: number, compact: boolean): Child {
  if (history.length === 0) return h('p', { class: 'empty' }, 'No decisions yet.');
  if (compact) {
    return h(
      'ul',
      { class: 'history-list' },
      history.slice(0, limit).map((a) =>
        h(
          'li',
          {},
          h('span', { class: `pill status-${a.status}` }, a.status),
          ' ',
          h('code', {}, a.tool),
          ' on ',
          a.server,
          h('span', { class: 'muted' }, ` · ${formatClock(a.decidedAt ?? a.createdAt)} · ${a.status === 'expired' && a.decidedBy === undefined ? 'nobody decided' : describeDecider(a.decidedBy)}`),
          a.decisionReason !== undefined && a.decisionReason !== '' ? h('div', { class: 'muted history-reason' }, a.decisionReason) : null,
          undoable(a) ? h('div', {}, undoButton(a.callId!, subject(a))) : null,
        ),
      ),
    );
  }
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'history' },
      h('caption', { class: 'sr-only' }, 'Decided approvals, newest first'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Decided'), h('th', { scope: 'col' }, 'Call'), h('th', { scope: 'col' }, 'Decision'), h('th', { scope: 'col' }, 'By'), h('th', { scope: 'col' }, 'Reason'))),
      h(
        'tbody',
        {},
        history.slice(0, limit).map((a) =>
          h(
            'tr',
            {},
            h('td', {}, formatClock(a.decidedAt ?? a.createdAt)),
            h('td', {}, h('code', {}, a.tool), ' on ', a.server),
            h('td', {}, h('span', { class: `pill status-${a.status}` }, a.status)),
            h('td', {}, a.decidedBy === undefined ? '–' : describeDecider(a.decidedBy)),
            h('td', {}, a.decisionReason ?? '', undoable(a) ? undoButton(a.callId!, subject(a)) : null),
          ),
        ),
      ),
    ),
  );
}
