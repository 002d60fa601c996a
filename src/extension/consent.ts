// The VS Code side of consent: what the workspace proposes (servers in workspace settings, devices in
// .mcpcp/inventory.yaml, servers adopted from workspace files) runs only after a modal dialog; git
// hooks per repository; Reload of the workspace policy. Every command here ignores its arguments,
// so neither the agent (through a command-running tool) nor a task can pass what to consent to.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { gitHooksGrant, GIT_HOOK_NAMES } from '../core/consent/git-hooks';
import type { Proposal } from '../core/consent/store';
import type { ControlPlane } from '../core/control-plane';
import { errorMessage } from '../core/errors';
import { COMMANDS } from './commands';
import { plural } from './wording';

export interface ConsentDeps {
  plane: () => ControlPlane | undefined;
  log: (message: string) => void;
}

/** Registers the consent commands; none takes an argument. */
export function registerConsentCommands(deps: ConsentDeps): vscode.Disposable {
  const subscriptions: vscode.Disposable[] = [
    vscode.commands.registerCommand(COMMANDS.consentReview, () => reviewProposals(deps)),
    vscode.commands.registerCommand(COMMANDS.consentGitHooks, () => allowGitHooks(deps)),
    vscode.commands.registerCommand(COMMANDS.consentRevoke, () => revokeConsent(deps)),
    vscode.commands.registerCommand(COMMANDS.policyReload, () => reloadPolicy(deps)),
  ];
  return vscode.Disposable.from(...subscriptions);
}

/** One modal per waiting proposal, showing what runs or where which secret goes. */
async function reviewProposals(deps: ConsentDeps): Promise<void> {
  const plane = deps.plane();
  if (!plane) return;
  const waiting = [...plane.waiting];
  if (waiting.length === 0) {
    void vscode.window.showInformationMessage('MCP Control Plane: nothing from the workspace waits for consent.');
    return;
  }
  for (const p of waiting) {
    const allow = p.kind === 'server' ? (p.argSecrets.length > 0 ? 'Allow, with the Secret in Its Arguments' : 'Allow and Run') : 'Bind Secrets and Connect';
    const title =
      p.kind === 'server'
        ? `The workspace proposes the MCP server "${p.name}".${p.workspaceCode ? ' It runs code from the workspace itself.' : ''} Allow it to run?`
        : `The workspace proposes the device "${p.name}" at ${p.destination ?? '?'}. Send ${p.secrets.length ? p.secrets.join(', ') : 'no secret'} there?`;
    const choice = await vscode.window.showWarningMessage(title, { modal: true, detail: `${p.summary.join('\n')}\n\nAny later change to it asks again.` }, allow);
    if (choice !== allow) continue;
    try {
      await grant(plane, p);
      deps.log(`consent: ${p.kind} "${p.name}" granted (${p.id})`);
    } catch (err) {
      void vscode.window.showErrorMessage(`MCP Control Plane: consent for "${p.name}" not recorded: ${errorMessage(err)}`);
    }
  }
}

async function grant(plane: ControlPlane, p: Proposal): Promise<void> {
  if (p.kind === 'server') {
    const done = await plane.grantProposals([p.name], { allowSecretInArgs: p.argSecrets.length > 0 });
    if (!done.some((d) => d.hash === p.hash)) throw new Error('it changed while the dialog was open; review it again');
    return;
  }
  await plane.consent.grant({ kind: 'device', id: p.id, source: p.source, name: p.name, hash: p.hash, destination: p.destination ?? '', secrets: p.secrets, hostKeys: p.hostKeys ?? {}, summary: p.summary, grantedAt: new Date().toISOString() });
}

async function allowGitHooks(deps: ConsentDeps): Promise<void> {
  const plane = deps.plane();
  if (!plane) return;
  const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');
  const picked = await vscode.window.showQuickPick(folders.map((f) => ({ label: f.name, description: f.uri.fsPath })), { placeHolder: 'Repository whose hooks the git server may run' });
  if (!picked) return;
  const hooks = await vscode.window.showQuickPick(
    GIT_HOOK_NAMES.map((h) => ({ label: h })),
    { canPickMany: true, placeHolder: 'Hooks to allow (programs from the repository, run when the git server commits, merges or pushes)' },
  );
  if (!hooks || hooks.length === 0) return;
  const g = gitHooksGrant(picked.description, hooks.map((h) => h.label));
  const choice = await vscode.window.showWarningMessage(
    `Allow the git server to run the hooks ${g.hooks.join(', ')} of ${basename(g.repo)}?`,
    { modal: true, detail: `Repository: ${g.repo}\nHooks are programs that came with the repository; they run with your permissions.` },
    'Allow Hooks',
  );
  if (choice !== 'Allow Hooks') return;
  await plane.consent.grant(g);
  deps.log(`consent: git hooks ${g.hooks.join(', ')} allowed in ${g.repo}`);
}

async function revokeConsent(deps: ConsentDeps): Promise<void> {
  const plane = deps.plane();
  if (!plane) return;
  const grants = await plane.consent.grants();
  const picked = await vscode.window.showQuickPick(
    grants.map((g) => ({ label: g.kind === 'git-hooks' ? `git hooks in ${basename(g.repo)}` : `${g.kind} ${g.name}`, description: g.kind === 'git-hooks' ? g.hooks.join(', ') : g.source, id: g.id })),
    { placeHolder: 'Consent to withdraw (it asks again next time)' },
  );
  if (!picked) return;
  await plane.consent.revoke(picked.id);
  deps.log(`consent: ${picked.label} withdrawn`);
}

async function reloadPolicy(deps: ConsentDeps): Promise<void> {
  const plane = deps.plane();
  if (!plane) return;
  const kept = plane.policy.keptSummary();
  if (kept.length === 0) {
    void vscode.window.showInformationMessage('MCP Control Plane: no workspace policy rules are kept from removed or changed files.');
    return;
  }
  const choice = await vscode.window.showWarningMessage(
    'Reload the workspace policy? The rules kept from removed or changed files stop applying.',
    { modal: true, detail: kept.map((k) => `${plural(k.rules, 'rule')} from ${k.removed ? 'the removed file' : 'an earlier version of'} ${k.file}`).join('\n') },
    'Reload and Drop Kept Rules',
  );
  if (choice !== 'Reload and Drop Kept Rules') return;
  plane.policy.dropKept('a human in VS Code');
}
