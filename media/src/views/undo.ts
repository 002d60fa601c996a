// Undo of a call from the dashboard, the approvals history and /ui (docs/undo.md): the preview
// (inverse and drift check) first, then a submit that puts the undo in front of an approver like
// any destructive call.
import type { UiResults, UndoPreviewView } from '../../../src/protocol/ui';
import { h, nodes } from '../dom';

export interface UndoActions {
  preview(callId: string): Promise<UndoPreviewView>;
  submit(callId: string, digest: string): Promise<UiResults['undo.submit']>;
  announce(text: string): void;
}

/** The undo panel: hidden until a row's Undo button opens it with that call's preview. */
export class UndoPanel {
  readonly el: HTMLElement;
  private readonly body: HTMLElement;
  private readonly heading: HTMLHeadingElement;
  private current: UndoPreviewView | undefined;

  constructor(private readonly actions: UndoActions) {
    this.heading = h('h2', { id: 'undo-heading', tabindex: '-1' }, 'Undo');
    this.body = h('div', {});
    this.el = h('section', { class: 'undo-panel', 'aria-labelledby': 'undo-heading', hidden: true }, this.heading, this.body);
  }

  /** Click handler for a container whose buttons carry `data-undo="<callId>"`. */
  listen(container: HTMLElement): void {
    container.addEventListener('click', (e) => {
      const button = (e.target as HTMLElement | null)?.closest<HTMLButtonElement>('button[data-undo]');
      const callId = button?.dataset['undo'];
      if (callId !== undefined) void this.open(callId);
    });
  }

  async open(callId: string): Promise<void> {
    this.el.hidden = false;
    this.current = undefined;
    this.body.replaceChildren(h('p', { class: 'muted', role: 'status' }, `Computing the undo of ${callId} and checking for drift…`));
    this.heading.focus();
    let preview: UndoPreviewView;
    try {
      preview = await this.actions.preview(callId);
    } catch (err) {
      this.body.replaceChildren(h('p', { class: 'warning', role: 'alert' }, `Cannot undo ${callId}: ${message(err)}`), this.closeButton());
      return;
    }
    this.current = preview;
    const submit = h('button', { type: 'button', class: 'approve' }, 'Submit undo for approval');
    submit.addEventListener('click', () => void this.submit(submit));
    this.body.replaceChildren(
      ...nodes([
        preview.changed ? h('p', { class: 'warning', role: 'alert' }, 'The state changed since the call: read the three-way difference before undoing.') : null,
        preview.irreversible.length > 0 ? h('p', { class: 'warning' }, `Cannot be undone: ${preview.irreversible.join('; ')}`) : null,
        h('div', { class: 'preview' }, h('pre', { class: 'listing' }, preview.text)),
        h('div', { class: 'buttons' }, submit, this.closeButton()),
      ]),
    );
  }

  private async submit(button: HTMLButtonElement): Promise<void> {
    const preview = this.current;
    if (preview === undefined) return;
    button.setAttribute('aria-disabled', 'true');
    try {
      const result = await this.actions.submit(preview.callId, preview.digest);
      this.body.replaceChildren(h('p', { role: 'status' }, result.text), this.closeButton());
      this.actions.announce(result.text);
    } catch (err) {
      this.body.replaceChildren(h('p', { class: 'warning', role: 'alert' }, `Not submitted: ${message(err)}`), this.closeButton());
    }
  }

  private closeButton(): HTMLButtonElement {
    const close = h('button', { type: 'button', class: 'secondary' }, 'Close');
    close.addEventListener('click', () => {
      this.el.hidden = true;
      this.current = undefined;
    });
    return close;
  }
}

/** The Undo button of a call (rows of the recent calls and the approvals history). */
export function undoButton(callId: string, what: string): HTMLButtonElement {
  return h('button', { type: 'button', class: 'secondary small', 'data-undo': callId, 'aria-label': `Undo ${what}` }, 'Undo…');
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
