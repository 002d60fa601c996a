// Per-tool controls: "Always Allow Tool…", "Always Require Approval for Tool", "Disable Tool" and
// "Enable Tool…", from the Servers tree and from an approval card. The rule list is computed by
// src/core/policy/user-rules.ts; this file asks the human and writes the user settings.
//
// None of these commands takes a tool from outside: an argument is honoured only when it is a tool
// node this extension's tree created (VS Code hands it back to a menu command); anything else (an
// agent's or another extension's executeCommand, a task, a `command:` link) writes nothing. Without
// an argument the human picks the tool from a list. A card names only its approval id, which is
// resolved in the control plane's own state.
import * as vscode from 'vscode';
import type { ControlPlane } from '../core/control-plane';
import { errorMessage } from '../core/errors';
import { PolicyEngine, mayAlwaysAllow, parsePolicyRules, placeToolRule, toolFilterWith, type PolicyRule, type ToolRef } from '../core/policy';
import type { ApprovalView } from '../protocol/ui';
import { COMMANDS } from './commands';
import type { ServersTreeProvider } from './servers-tree';
import { USER_RULES_SETTING, allowDialog, destructiveRefusal, notEffectiveText, tightenedText } from './tool-rules-text';

/**
 * The dialogs of these commands, behind one interface: VS Code's own, or (only in
 * ExtensionMode.Test, whose workbench refuses modal dialogs) scripted answers a test queued, each
 * dialog recorded as shown.
 */
export interface Prompts {
  /** A modal warning with buttons; the chosen button or undefined (Cancel). */
  modal(message: string, detail: string, ...buttons: string[]): Promise<string | undefined>;
  pick<T extends vscode.QuickPickItem>(items: T[], options: vscode.QuickPickOptions): Promise<T | undefined>;
  input(options: vscode.InputBoxOptions): Promise<string | undefined>;
  /** A non-modal note (what was written). */
  info(text: string): void;
  warn(text: string): void;
}

/** One dialog as shown, for tests. */
export interface ShownPrompt {
  kind: 'modal' | 'pick' | 'input' | 'info' | 'warn';
  text: string;
  detail?: string;
  items?: string[];
}

/** VS Code's dialogs; in tests, answers queued with `answer()` go first. */
export class VsCodePrompts implements Prompts {
  private readonly queued: Array<string | undefined> = [];
  readonly shown: ShownPrompt[] = [];

  constructor(private readonly scripted: boolean) {}

  /** Tests only: the next dialogs' answers (a button, an item's label, a typed text; undefined cancels). */
  answer(...answers: Array<string | undefined>): void {
    if (!this.scripted) throw new Error('scripted answers are only for extension tests');
    this.queued.push(...answers);
  }

  /** Tests only: drops the answers no dialog took; returns how many there were. */
  clearAnswers(): number {
    return this.queued.splice(0).length;
  }

  /** Only tests keep what was shown (a user's window keeps nothing). */
  private record(prompt: ShownPrompt): void {
    if (this.scripted) this.shown.push(prompt);
  }

  private next(): { scripted: true; value: string | undefined } | undefined {
    return this.scripted && this.queued.length > 0 ? { scripted: true, value: this.queued.shift() } : undefined;
  }

  async modal(message: string, detail: string, ...buttons: string[]): Promise<string | undefined> {
    this.record({ kind: 'modal', text: message, detail, items: buttons });
    const s = this.next();
    if (s) return s.value !== undefined && buttons.includes(s.value) ? s.value : undefined;
    return vscode.window.showWarningMessage(message, { modal: true, detail }, ...buttons);
  }

  async pick<T extends vscode.QuickPickItem>(items: T[], options: vscode.QuickPickOptions): Promise<T | undefined> {
    this.record({ kind: 'pick', text: options.title ?? options.placeHolder ?? '', items: items.map((i) => i.label) });
    const s = this.next();
    if (s) return items.find((i) => i.label === s.value);
    return vscode.window.showQuickPick(items, options);
  }

  async input(options: vscode.InputBoxOptions): Promise<string | undefined> {
    this.record({ kind: 'input', text: options.title ?? options.prompt ?? '' });
    const s = this.next();
    if (s) {
      if (s.value === undefined) return undefined;
      const problem = await options.validateInput?.(s.value);
      if (problem) throw new Error(`scripted input refused: ${typeof problem === 'string' ? problem : problem.message}`);
      return s.value;
    }
    return vscode.window.showInputBox(options);
  }

  info(text: string): void {
    this.record({ kind: 'info', text });
    void vscode.window.showInformationMessage(text);
  }

  warn(text: string): void {
    this.record({ kind: 'warn', text });
    void vscode.window.showWarningMessage(text);
  }
}

export interface ToolRuleDeps {
  plane(): ControlPlane | undefined;
  tree: ServersTreeProvider;
  prompts: Prompts;
  log(message: string): void;
}

/** What a card's "Allow this tool from now on…" returns to the webview. */
export interface ToolRuleOutcome {
  written: boolean;
  message: string;
}

/** The user's policy rules as they stand in user settings (validated; an invalid list is an error naming it). */
export function readUserRules(): PolicyRule[] {
  const value = vscode.workspace.getConfiguration('mcpControlPlane').inspect<unknown>('policy.rules')?.globalValue;
  const parsed = parsePolicyRules(value ?? [], USER_RULES_SETTING);
  if (!parsed.ok) throw new Error(`${USER_RULES_SETTING} in your user settings is invalid (${parsed.error.field ?? ''} ${parsed.error.message}); fix it first. Nothing was written.`);
  return parsed.rules;
}

async function writeUserRules(rules: PolicyRule[]): Promise<void> {
  await vscode.workspace.getConfiguration('mcpControlPlane').update('policy.rules', rules, vscode.ConfigurationTarget.Global);
}

/** Registers the per-tool commands; returns them with the approval card's action. */
export function registerToolRuleCommands(deps: ToolRuleDeps): { disposable: vscode.Disposable; canAlwaysAllow(a: ApprovalView): boolean; allowFromApproval(approvalId: string): Promise<ToolRuleOutcome> } {
  const { tree, prompts } = deps;

  /** The tool of a command: this tree's own node, else a pick; anything else given refuses. */
  const toolFrom = async (args: unknown[], placeHolder: string, filter: (ref: ToolRef) => boolean): Promise<ToolRef | undefined | 'refused'> => {
    if (args.length > 0 && args[0] !== undefined) {
      const node = tree.ownToolNode(args[0]);
      if (!node) return 'refused';
      return tree.toolRef(node.server, node.tool) ?? { server: node.server, tool: node.tool, builtin: false };
    }
    const plane = deps.plane();
    const refs = (plane?.supervisor.list() ?? []).flatMap((s) => (s.lastConnection?.tools ?? []).map((t) => tree.toolRef(s.name, t.name)).filter((r): r is ToolRef => r !== undefined && filter(r)));
    if (refs.length === 0) {
      prompts.info('MCP Control Plane: no tool to choose from (no running server lists one that fits).');
      return undefined;
    }
    const picked = await prompts.pick(
      refs.map((r) => ({ label: `${r.server}/${r.tool}`, description: describe(r), ref: r })),
      { placeHolder, matchOnDescription: true },
    );
    return picked?.ref;
  };

  const refusedArgs = (command: string): void => {
    deps.log(`${command}: refused an argument that is not one of the Servers tree's own tool nodes; nothing written`);
    prompts.warn(`MCP Control Plane: "${command}" takes its tool from the Servers tree or a list you pick from, never from a command argument. Nothing was written.`);
  };

  /** "Always Allow": refuses destructive tools, then a modal naming the rule; writes only on its button. */
  const allow = async (ref: ToolRef): Promise<ToolRuleOutcome> => {
    if (!mayAlwaysAllow(ref)) {
      const text = destructiveRefusal(ref);
      prompts.warn(text);
      return { written: false, message: text };
    }
    const placed = placeToolRule(readUserRules(), ref, 'allow');
    if (!placed.effective) {
      const text = notEffectiveText(ref, placed);
      prompts.warn(text);
      return { written: false, message: text };
    }
    const dialog = allowDialog(ref, placed);
    const choice = await prompts.modal(dialog.message, dialog.detail, dialog.button);
    if (choice !== dialog.button) return { written: false, message: 'Cancelled: nothing was written.' };
    await writeUserRules(placed.rules);
    const text = `"${ref.tool}" on ${ref.server} is always allowed now: rule #${placed.index + 1} "${placed.rule.id}" in ${USER_RULES_SETTING}.`;
    deps.log(`policy: ${text}`);
    prompts.info(text);
    tree.refresh();
    return { written: true, message: text };
  };

  const requireApproval = async (ref: ToolRef): Promise<void> => {
    const placed = placeToolRule(readUserRules(), ref, 'approve');
    await writeUserRules(placed.rules);
    const text = tightenedText(ref, placed);
    deps.log(`policy: ${text}`);
    prompts.info(text);
    tree.refresh();
  };

  /**
   * Writes the tool filter where it takes effect: VS Code merges `servers` objects across scopes,
   * but a list set in the workspace (or folder) replaces the user's, so the filter goes to the most
   * specific scope that already sets this server's `tools`, else to the user settings.
   */
  const setToolEnabled = async (ref: Pick<ToolRef, 'server' | 'tool'>, enabled: boolean): Promise<void> => {
    const plane = deps.plane();
    const section = vscode.workspace.getConfiguration('mcpControlPlane');
    const inspected = section.inspect<Record<string, Record<string, unknown>>>('servers');
    const scopes = [
      [vscode.ConfigurationTarget.WorkspaceFolder, inspected?.workspaceFolderValue, 'the workspace folder settings'],
      [vscode.ConfigurationTarget.Workspace, inspected?.workspaceValue, 'the workspace settings'],
    ] as const;
    const scope = scopes.find(([, value]) => value?.[ref.server]?.['tools'] !== undefined);
    const target = scope?.[0] ?? vscode.ConfigurationTarget.Global;
    const where = scope?.[2] ?? 'your user settings';
    const user = { ...((scope ? scope[1] : inspected?.globalValue) ?? {}) };
    const effective = plane?.currentConfig.servers[ref.server]?.tools;
    const result = toolFilterWith(effective, ref.tool, enabled);
    if (result.stillHiddenBy !== undefined) {
      prompts.warn(`"${ref.tool}" on ${ref.server} stays hidden by the pattern "${result.stillHiddenBy}" in mcpControlPlane.servers.${ref.server}.tools.exclude; edit it in your settings. Nothing was written.`);
      return;
    }
    if (!result.changed) {
      prompts.info(`"${ref.tool}" on ${ref.server} is already ${enabled ? 'enabled' : 'disabled'}.`);
      return;
    }
    const entry = { ...(user[ref.server] ?? {}) };
    if (result.filter.include === undefined && result.filter.exclude === undefined) delete entry['tools'];
    else entry['tools'] = result.filter;
    user[ref.server] = entry;
    await section.update('servers', user, target);
    const text = enabled
      ? `"${ref.tool}" on ${ref.server} is enabled again (mcpControlPlane.servers.${ref.server}.tools in ${where}); the server restarts to offer it.`
      : `"${ref.tool}" on ${ref.server} is disabled: added to mcpControlPlane.servers.${ref.server}.tools.exclude in ${where}, so clients no longer see it and calls to it are refused.`;
    deps.log(`tools: ${text}`);
    prompts.info(text);
  };

  const command = (id: string, name: string, run: (args: unknown[]) => Promise<void>): vscode.Disposable =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        await run(args);
      } catch (err) {
        deps.log(`${name}: ${errorMessage(err)}`);
        prompts.warn(`MCP Control Plane: ${errorMessage(err)}`);
      }
    });

  const disposable = vscode.Disposable.from(
    command(COMMANDS.toolAllow, 'Always Allow Tool', async (args) => {
      // The list: tools that ask today (by the user's rules and the defaults) and are not destructive.
      const engine = new PolicyEngine({ user: readUserRules() });
      const asks = (r: ToolRef): boolean =>
        engine.evaluate({ kind: 'tool', server: r.server, name: r.tool, builtin: r.builtin, args: {}, ...(r.annotations ? { annotations: r.annotations } : {}) }).decision === 'approve';
      const ref = await toolFrom(args, 'Tool to always allow (tools that ask for approval today; destructive tools are not offered)', (r) => mayAlwaysAllow(r) && asks(r));
      if (ref === 'refused') return refusedArgs('Always Allow Tool');
      if (ref) await allow(ref);
    }),
    command(COMMANDS.toolRequireApproval, 'Always Require Approval', async (args) => {
      const ref = await toolFrom(args, 'Tool whose calls always wait for your approval', () => true);
      if (ref === 'refused') return refusedArgs('Always Require Approval for Tool');
      if (ref) await requireApproval(ref);
    }),
    command(COMMANDS.toolDisable, 'Disable Tool', async (args) => {
      const ref = await toolFrom(args, 'Tool to disable (hidden from clients and refused)', () => true);
      if (ref === 'refused') return refusedArgs('Disable Tool');
      if (ref) await setToolEnabled(ref, false);
    }),
    command(COMMANDS.toolEnable, 'Enable Tool', async (args) => {
      let target: { server: string; tool: string } | undefined;
      if (args.length > 0 && args[0] !== undefined) {
        const node = tree.ownToolNode(args[0]);
        if (!node) return refusedArgs('Enable Tool');
        target = node;
      } else {
        const plane = deps.plane();
        const items = Object.keys(plane?.currentConfig.servers ?? {}).flatMap((server) => tree.disabledTools(server).map((tool) => ({ label: `${server}/${tool}`, target: { server, tool } })));
        if (items.length === 0) {
          prompts.info('MCP Control Plane: no tool is disabled one by one (mcpControlPlane.servers.<name>.tools.exclude).');
          return;
        }
        target = (await prompts.pick(items, { placeHolder: 'Tool to enable again' }))?.target;
      }
      if (target) await setToolEnabled(target, true);
    }),
  );

  return {
    disposable,
    // A tool the control plane does not know right now (its server is not listing) is not offered.
    canAlwaysAllow: (a) => {
      const ref = tree.toolRef(a.server, a.tool);
      return ref !== undefined && mayAlwaysAllow(ref);
    },
    allowFromApproval: async (approvalId) => {
      const plane = deps.plane();
      if (!plane) throw new Error('the control plane is not running');
      const state = await plane.oversight.state(60_000);
      const approval = [...state.pending, ...state.history].find((a) => a.id === approvalId);
      if (!approval || approval.kind !== 'tool') throw new Error('no such tool approval: it may have been decided and dropped from the history');
      const ref = tree.toolRef(approval.server, approval.tool);
      if (!ref) throw new Error(`${approval.server} does not list "${approval.tool}" right now, so what it declares is unknown; try again once the server runs`);
      const outcome = await allow(ref);
      // The rule applies from the next call: this one was asked under the old policy and still waits.
      return outcome.written && approval.status === 'pending' ? { ...outcome, message: `${outcome.message} This call still waits for your Approve or Reject.` } : outcome;
    },
  };
}

function describe(ref: ToolRef): string {
  const a = ref.annotations;
  if (a?.readOnlyHint === true) return 'read-only';
  if (typeof a?.readOnlyHint !== 'boolean' && typeof a?.destructiveHint !== 'boolean') return 'not annotated';
  return a?.destructiveHint === false ? 'writes' : 'destructive';
}
