// "Adopt Servers from mcp.json" and "Assess MCP Configuration": the VS Code side of adopting
// third-party MCP servers. The engine is src/core/adopt; this file maps it onto quick picks,
// modal consent, input boxes, SecretStorage, the user settings and a report webview.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import {
  adoptServers,
  applyRemediation,
  assessLocations,
  backupRoot,
  describeHistoryScan,
  firstResolver,
  locationForFile,
  nodeModulesResolver,
  npmViewResolver,
  npxCacheResolver,
  parseMcpConfig,
  planAdoption,
  prepareRemediation,
  pypiResolver,
  readMcpConfig,
  renderPlan,
  reportToJson,
  reportToMarkdown,
  type HistoryScan,
  type HistoryScanOptions,
  type ParsedMcpConfig,
  type ShellPath,
  type SourceInput,
} from '../../core/adopt';
import type { ControlPlane } from '../../core/control-plane';
import { ControlPlaneError, errorMessage } from '../../core/errors';
import type { SecretStore } from '../../core/secrets/secret-store';
import { AssessmentPanel } from './assessment-panel';
import { ADOPT_COMMANDS } from './commands';
import { editorRunsFile, settingsOwnServers, windowLocations } from './settings-servers';
import { plural } from '../wording';

export { ADOPT_COMMAND_TITLES, ADOPT_COMMANDS, ADOPT_HIDDEN_COMMANDS, ASSESSMENT_PANEL_TYPE } from './commands';
export { AssessmentPanel } from './assessment-panel';
export { editorRunsFile, settingsOwnServers, vscodeUserDir, windowLocations } from './settings-servers';

export interface AdoptCommandDeps {
  /** The running control plane (its oversight approves and audits; its servers give tool figures). */
  plane: () => ControlPlane | undefined;
  /** VS Code's SecretStorage behind the core interface. */
  secrets: SecretStore;
  /** The login shell's PATH, read once (finds npx/uvx when VS Code started from a desktop launcher). */
  shellPath: ShellPath;
  log: (message: string) => void;
  /** Opens the Approvals view. */
  reviewApprovals?: () => void;
}

const STORE_LABEL = "VS Code's secret storage";

/** Registers the adopt and assess commands; dispose to unregister them and close the report. */
export function registerAdoptCommands(context: vscode.ExtensionContext, deps: AdoptCommandDeps): vscode.Disposable {
  const panel = new AssessmentPanel();
  const own = settingsOwnServers();
  const requirePlane = (): ControlPlane => {
    const plane = deps.plane();
    if (!plane) throw new ControlPlaneError('NOT_STARTED', 'the control plane is not running');
    return plane;
  };
  const guarded = (run: (...args: unknown[]) => Promise<void>) => async (...args: unknown[]): Promise<void> => {
    try {
      await run(...args);
    } catch (err) {
      deps.log(`adopt: ${errorMessage(err)}`);
      void vscode.window.showErrorMessage(`MCP Control Plane: ${errorMessage(err)}`);
    }
  };

  const assess = async (): Promise<void> => {
    const plane = deps.plane();
    const tools = plane?.supervisor.list().map((s) => ({ server: s.name, tools: s.lastConnection?.tools.map((t) => t.name) ?? s.status.toolCount }));
    const report = await assessLocations(windowLocations(context), {
      workspaceTrusted: vscode.workspace.isTrusted,
      secretNames: await deps.secrets.list(),
      ownServers: plane?.currentConfig.servers ?? (await own.read()),
      gitHistory: { ...(await historyOptions()), timeoutMs: 15_000 },
      ...(tools ? { tools } : {}),
    });
    panel.show(report);
  };

  const adopt = async (arg?: unknown): Promise<void> => {
    const plane = requirePlane();
    const parsed = await pickSource(arg);
    if (!parsed) return;
    for (const p of parsed.problems) deps.log(`${parsed.location.path}${p.position ? `:${p.position.line}:${p.position.column}` : ''}: ${p.message}`);
    const base = { existing: plane.currentConfig.servers, secretNames: await deps.secrets.list(), pathValue: await deps.shellPath.path(), editorRunsFile: editorRunsFile(parsed.location) };
    let plan = planAdoption(parsed, base);
    if (plan.servers.length === 0) {
      void vscode.window.showInformationMessage(`Nothing to adopt from ${basename(parsed.location.path)}${plan.skipped.length ? `: ${plan.skipped.map((s) => `"${s.sourceName}" ${s.reason}`).join('; ')}` : ''}.`);
      return;
    }
    if (plan.servers.length > 1) {
      const picked = await vscode.window.showQuickPick(
        plan.servers.map((s) => ({ label: s.name, description: s.commandLine ?? s.config.url ?? '', picked: true, sourceName: s.sourceName })),
        { canPickMany: true, title: `Adopt servers from ${parsed.location.path}`, placeHolder: 'Servers to adopt' },
      );
      if (!picked || picked.length === 0) return;
      plan = planAdoption(parsed, { ...base, only: picked.map((p) => p.sourceName) });
    }
    const moveLabel = 'Adopt and Move…';
    const keepLabel = plan.editorRunsFile ? 'Adopt Disabled' : 'Adopt Only';
    const untrusted = parsed.location.scope === 'workspace' && !vscode.workspace.isTrusted;
    const choice = await vscode.window.showWarningMessage(
      `Adopt ${plural(plan.servers.length, 'MCP server')} from ${basename(parsed.location.path)}? These exact commands will run under the control plane${untrusted ? ', from your user settings: this workspace is NOT trusted, so whoever wrote the repository wrote them' : ''}.`,
      { modal: true, detail: `${renderPlan(plan, { storeLabel: STORE_LABEL })}\n\n"${moveLabel}" removes them from the file after adopting (you approve the diff in the Approvals view; a backup, with the secrets as references, is kept in the extension's storage). "${keepLabel}" leaves the file alone${plan.editorRunsFile ? ' and adopts them disabled, since VS Code keeps running them' : ''}.` },
      moveLabel,
      keepLabel,
    );
    if (choice === undefined) return;
    if (choice === keepLabel) plan = planAdoption(parsed, { ...base, only: plan.servers.map((s) => s.sourceName), move: false });

    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: plan.move ? `Adopting; approve the change to ${basename(parsed.location.path)} in the Approvals view` : 'Adopting', cancellable: true },
      async (_progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        if (plan.move) deps.reviewApprovals?.();
        return adoptServers(plan, parsed, {
          secrets: deps.secrets,
          servers: own,
          backupDir: backupRoot(context.globalStorageUri.fsPath),
          gitHistory: await historyOptions(),
          approver: plane.oversight,
          recorder: plane.oversight,
          promptInput: (input, names) => promptForInput(input, names),
          signal: abort.signal,
        });
      },
    );
    // The modal above showed these exact commands: the user's choice is their consent (servers
    // adopted from a workspace file are proposals in the consent store).
    await plane.grantProposals(Object.keys(result.servers), { entries: result.servers }).catch((err: unknown) => deps.log(`adopt: consent not recorded: ${String(err)}`));
    const lines = [`Adopted ${Object.keys(result.servers).join(', ')}.`];
    if (result.secretNames.length) lines.push(`Secrets in ${STORE_LABEL}: ${result.secretNames.join(', ')}.`);
    if (result.moved) lines.push(`Removed from ${basename(parsed.location.path)} (a backup with the secrets as references is in the extension's storage: ${result.moved.backup}).`);
    if (result.moveError) lines.push(`${basename(parsed.location.path)} was not changed: ${result.moveError}.`);
    if (result.disabled.length) lines.push(`Left disabled while VS Code runs them from the file: ${result.disabled.join(', ')}.`);
    deps.log(`adopt: ${lines.join(' ')}`);
    void vscode.window.showInformationMessage(lines.join(' '));
    if (result.history) warnHistory(result.history);
  };

  /** The history scan runs git with the login shell's PATH; no entry inside a workspace folder is used. */
  const historyOptions = async (): Promise<HistoryScanOptions> => ({
    env: { PATH: await deps.shellPath.path(), HOME: process.env['HOME'] },
    untrustedRoots: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
  });

  /** Tells the user a moved secret is in git history (rotate it), with a way to store the new value. */
  const warnHistory = (scan: HistoryScan): void => {
    const lines = describeHistoryScan(scan, { setSecret: () => '"Set New Value…" below' });
    for (const line of lines) deps.log(`adopt: ${line}`);
    if (lines.length === 0) return;
    const first = scan.found[0]?.name;
    const button = first !== undefined ? `Set New Value of ${first}…` : undefined;
    void vscode.window.showWarningMessage(lines.join(' '), ...(button ? [button] : [])).then(async (choice) => {
      if (choice !== button || first === undefined) return;
      const value = await vscode.window.showInputBox({ title: `New value of secret "${first}" (after rotating it where it was issued)`, password: true, ignoreFocusOut: true });
      if (!value) return;
      await deps.secrets.set(first, value);
      const plane = deps.plane();
      const users = Object.entries(plane?.currentConfig.servers ?? {}).filter(([, c]) => JSON.stringify(c).includes(`\${secret:${first}}`)).map(([n]) => n);
      for (const name of users) await plane?.supervisor.restart(name).catch((err: unknown) => deps.log(`adopt: restarting ${name} failed: ${errorMessage(err)}`));
      void vscode.window.showInformationMessage(`Secret "${first}" stored in ${STORE_LABEL}${users.length ? `; restarted ${users.join(', ')}` : ''}.`);
    });
  };

  const pickSource = async (arg: unknown): Promise<ParsedMcpConfig | undefined> => {
    if (arg instanceof vscode.Uri) return readPicked(arg.fsPath);
    const found: ParsedMcpConfig[] = [];
    for (const location of windowLocations(context)) {
      if (location.kind === 'mcpcp-yaml' || location.kind === 'mcpcp-settings') continue;
      const parsed = await readMcpConfig(location).catch(() => undefined);
      if (parsed && parsed.servers.length > 0) found.push(parsed);
    }
    const browse = { label: '$(folder-opened) Browse…', description: 'another mcp.json, .mcp.json or claude_desktop_config.json', parsed: undefined };
    const picked = await vscode.window.showQuickPick(
      [...found.map((p) => ({ label: basename(p.location.path), description: p.location.path, detail: `${plural(p.servers.length, 'server')}: ${p.servers.map((s) => s.name).join(', ')}`, parsed: p as ParsedMcpConfig | undefined })), browse],
      { title: 'Adopt servers from', placeHolder: found.length ? 'MCP configuration to adopt servers from' : 'No MCP configuration found here: browse for one' },
    );
    if (!picked) return undefined;
    if (picked.parsed) return picked.parsed;
    const uris = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'MCP configuration': ['json', 'jsonc'] }, title: 'MCP configuration to adopt servers from' });
    return uris?.[0] ? readPicked(uris[0].fsPath) : undefined;
  };

  const readPicked = async (path: string): Promise<ParsedMcpConfig> => {
    const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.file(path)));
    const known = windowLocations(context).find((l) => l.path === path);
    return parseMcpConfig(text, known ?? locationForFile(path, text));
  };

  const remediate = async (findingId: unknown): Promise<void> => {
    const report = panel.report;
    if (typeof findingId !== 'string' || !report) return;
    const plane = requirePlane();
    const shellEnv = await deps.shellPath.env();
    const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    const ctx = {
      secrets: deps.secrets,
      ownServers: own,
      pathValue: shellEnv['PATH'] ?? '',
      resolveVersion: firstResolver(npxCacheResolver(), nodeModulesResolver(folders), npmViewResolver({ env: shellEnv }), pypiResolver()),
    };
    try {
      const prepared = await prepareRemediation(report, findingId, ctx);
      panel.setOutcome(findingId, 'waiting for your approval in the Approvals view…');
      deps.reviewApprovals?.();
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `${prepared.summary}: approve the diff in the Approvals view`, cancellable: true },
        async (_progress, token) => {
          const abort = new AbortController();
          token.onCancellationRequested(() => abort.abort());
          return applyRemediation(prepared, { ...ctx, backupDir: backupRoot(context.globalStorageUri.fsPath), gitHistory: await historyOptions(), approver: plane.oversight, recorder: plane.oversight, signal: abort.signal });
        },
      );
      // The approval showed the entry being moved (its command included): the human's consent to run it.
      if (result.adopted && result.adopted.length > 0) await plane.grantProposals(result.adopted, { entries: await own.read() });
      const history = result.history ? describeHistoryScan(result.history, { setSecret: () => 'the notification\'s button' }) : [];
      panel.setOutcome(findingId, `applied${result.backup ? `; backup ${result.backup}` : ''}${result.secretNames.length ? `; secrets stored: ${result.secretNames.join(', ')}` : ''}${history.length ? `. ${history.join(' ')}` : ''}`);
      if (result.history) warnHistory(result.history);
    } catch (err) {
      const rejected = err instanceof ControlPlaneError && err.code === 'CHANGE_REJECTED';
      panel.setOutcome(findingId, `${rejected ? 'not applied' : 'failed'}: ${errorMessage(err)}`);
      if (!rejected) throw err;
    }
  };

  const exportReport = async (format: 'json' | 'markdown'): Promise<void> => {
    const report = panel.report;
    if (!report) return;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const name = `mcp-assessment-${report.generatedAt.slice(0, 10)}.${format === 'json' ? 'json' : 'md'}`;
    const target = await vscode.window.showSaveDialog({ ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, name) } : {}), filters: format === 'json' ? { JSON: ['json'] } : { Markdown: ['md'] } });
    if (!target) return;
    await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(format === 'json' ? reportToJson(report) : reportToMarkdown(report)));
    void vscode.window.showInformationMessage(`Assessment saved to ${target.fsPath}.`);
  };

  const reveal = async (file: unknown, line: unknown, column: unknown): Promise<void> => {
    if (typeof file !== 'string') return;
    const position = new vscode.Position(Math.max(0, Number(line) - 1 || 0), Math.max(0, Number(column) - 1 || 0));
    await vscode.window.showTextDocument(vscode.Uri.file(file), { selection: new vscode.Range(position, position) });
  };

  const disposables: vscode.Disposable[] = [
    panel,
    vscode.commands.registerCommand(ADOPT_COMMANDS.serversAdopt, guarded((arg) => adopt(arg))),
    vscode.commands.registerCommand(ADOPT_COMMANDS.configAssess, guarded(() => assess())),
    vscode.commands.registerCommand(ADOPT_COMMANDS.assessRemediate, guarded((id) => remediate(id))),
    vscode.commands.registerCommand(ADOPT_COMMANDS.assessExportJson, guarded(() => exportReport('json'))),
    vscode.commands.registerCommand(ADOPT_COMMANDS.assessExportMarkdown, guarded(() => exportReport('markdown'))),
    vscode.commands.registerCommand(ADOPT_COMMANDS.assessReveal, guarded((file, line, column) => reveal(file, line, column))),
  ];
  return vscode.Disposable.from(...disposables);
}

/** Asks for a VS Code input's value once: a hidden box for passwords, a pick for `pickString`. */
async function promptForInput(input: SourceInput, secretNames: string[]): Promise<string | undefined> {
  const title = `${input.description ?? input.id} (kept in ${STORE_LABEL} as ${secretNames.join(', ')})`;
  if (input.type === 'pickString' && input.options?.length) {
    return vscode.window.showQuickPick(input.options, { title, ignoreFocusOut: true, placeHolder: input.default ?? '' });
  }
  const value = await vscode.window.showInputBox({ title, prompt: `Value of input "${input.id}"`, password: input.password, ignoreFocusOut: true, ...(input.default ? { value: input.default } : {}) });
  return value === '' ? undefined : value;
}
