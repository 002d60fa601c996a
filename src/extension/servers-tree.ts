import * as vscode from 'vscode';
import type { ControlPlane } from '../core/control-plane';
import { BUILTIN_SERVERS, findBuiltin } from '../core/builtin-servers';
import { BUILTIN_TOOL_ANNOTATIONS, disabledToolNames, mayAlwaysAllow, uiDecisionFor, type PolicyRule, type ToolRef } from '../core/policy';
import { describeStatus } from '../core/supervisor/state';
import { COMMANDS } from './commands';
import { humanTime, noToolsText, serverRow, type ServerRow } from './wording';

/**
 * Nodes of the Servers tree. A server's children are its tools; later issues add groups of
 * targets (clusters, devices) as `group` nodes under a server.
 */
export type TreeNode =
  | { kind: 'server'; name: string }
  | { kind: 'disabled'; name: string }
  | { kind: 'hint'; server: string; text: string; action: 'trust' | 'connect' }
  | { kind: 'tool'; server: string; tool: string }
  | { kind: 'disabledTool'; server: string; tool: string }
  | { kind: 'group'; server: string; id: string; label: string; uri: string }
  | { kind: 'target'; server: string; label: string; description: string; tooltip: string; healthy: boolean }
  | { kind: 'message'; server: string; text: string }
  | { kind: 'notice'; id: string; text: string; tooltip: string; command: string };

/** One entry of a `<scheme>://targets` resource: a cluster, a device. */
interface TargetEntry {
  context?: string;
  name?: string;
  device?: string;
  host?: string;
  server?: string;
  reachable?: boolean;
  version?: string;
  platform?: string;
  error?: string;
  checkedAt?: string;
}

/** Where a server's row needs more than its supervisor state: trust, and the gateway's sessions. */
export interface TreeContext {
  /** False in Restricted Mode. */
  trusted(): boolean;
  /** The user's policy rules (for a tool's "always allowed" / "always asks" mark). */
  userRules?(): readonly PolicyRule[];
}

/** Servers that read the workspace and refuse every call when it is not trusted (they still run). */
const REFUSE_WHEN_UNTRUSTED = new Set(['git']);

/** The Servers view: each server with its state; its tools marked read-only or destructive. */
export class ServersTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly nodes = new Map<string, TreeNode & { kind: 'server' }>();
  /** Tool nodes this tree handed to VS Code: the only objects a tool command accepts as its argument. */
  private readonly issued = new WeakSet<object>();

  constructor(
    private readonly plane: () => ControlPlane | undefined,
    private readonly context: TreeContext = { trusted: () => true },
  ) {}

  /** Re-renders; called on supervisor events, and every few seconds while a server runs (uptime, sessions). */
  refresh(): void {
    this.refreshes++;
    this.changed.fire(undefined);
  }

  /** How many times the tree was re-rendered (for tests: the uptime ticker). */
  refreshes = 0;

  /** The row of a supervised server: restricted, not connected yet, or its state. */
  row(name: string): ServerRow | undefined {
    const plane = this.plane();
    const status = plane?.supervisor.get(name)?.status;
    if (!plane || !status) return undefined;
    return serverRow({
      state: status.state.kind,
      ...(status.state.kind === 'stopped' && status.state.reason ? { reason: status.state.reason } : {}),
      description: describeStatus(status),
      sessions: plane.gateway.sessionsFor(name),
      trusted: this.context.trusted(),
      refusesWhenUntrusted: REFUSE_WHEN_UNTRUSTED.has(name),
    });
  }

  /** Servers the configuration names (built-in or added) that are not supervised because they are disabled. */
  disabledServers(): string[] {
    const plane = this.plane();
    if (!plane) return [];
    const servers = plane.currentConfig.servers;
    const names = new Set([...BUILTIN_SERVERS.map((b) => b.name), ...Object.keys(servers)]);
    return [...names].filter((n) => !plane.supervisor.get(n) && servers[n]?.enabled === false).sort();
  }

  getChildren(node?: TreeNode): TreeNode[] | Promise<TreeNode[]> {
    if (node?.kind === 'group') return this.readTargets(node);
    const out = this.children(node);
    for (const n of out) if (n.kind === 'tool' || n.kind === 'disabledTool') this.issued.add(n);
    return out;
  }

  /**
   * `arg` when it is a tool node this tree created (VS Code hands it back to a context-menu or
   * inline command); undefined for anything else, such as an object an agent, a task or a
   * `command:` link made up: those can name any tool, this tree's own nodes cannot be forged.
   */
  ownToolNode(arg: unknown): (TreeNode & { kind: 'tool' | 'disabledTool' }) | undefined {
    if (typeof arg !== 'object' || arg === null || !this.issued.has(arg)) return undefined;
    const node = arg as TreeNode;
    return node.kind === 'tool' || node.kind === 'disabledTool' ? node : undefined;
  }

  /**
   * What the control plane knows about a tool: the running server's listing, else the built-in
   * catalogue. Undefined when it knows nothing (a tool it never listed).
   */
  toolRef(server: string, tool: string): ToolRef | undefined {
    const plane = this.plane();
    const managed = plane?.supervisor.get(server);
    const builtin = managed?.status.builtin ?? findBuiltin(server) !== undefined;
    const listed = managed?.lastConnection?.tools.find((t) => t.name === tool);
    if (listed) return { server, tool, builtin, ...(listed.annotations ? { annotations: listed.annotations } : {}) };
    const known = builtin ? BUILTIN_TOOL_ANNOTATIONS[server]?.[tool] : undefined;
    return known ? { server, tool, builtin, annotations: known } : undefined;
  }

  /** Whether a server is built in (its tool annotations are trusted). */
  isBuiltin(server: string): boolean {
    return this.plane()?.supervisor.get(server)?.status.builtin ?? findBuiltin(server) !== undefined;
  }

  /** Tools of a server disabled one by one (`servers.<name>.tools.exclude`). */
  disabledTools(server: string): string[] {
    return disabledToolNames(this.plane()?.currentConfig.servers[server]?.tools);
  }

  private children(node?: TreeNode): TreeNode[] {
    const plane = this.plane();
    if (!plane) return [];
    if (!node) {
      const notices: TreeNode[] = [];
      const waiting = plane.waiting;
      if (waiting.length > 0) {
        notices.push({
          kind: 'notice',
          id: 'consent',
          text: `${waiting.length} workspace proposal${waiting.length === 1 ? '' : 's'} wait${waiting.length === 1 ? 's' : ''} for consent: Review…`,
          tooltip: waiting.map((p) => `${p.kind} ${p.name}${p.destination ? ` (${p.destination})` : ''}`).join('\n'),
          command: COMMANDS.consentReview,
        });
      }
      const kept = plane.policy.keptSummary();
      const rules = kept.reduce((n, k) => n + k.rules, 0);
      if (!this.context.trusted()) {
        notices.push({
          kind: 'notice',
          id: 'restricted',
          text: 'Restricted Mode: workspace servers do not start and git refuses every call. Trust…',
          tooltip:
            'This workspace is not trusted (Restricted Mode). Until you trust it: servers configured by the workspace do not start, the network server (driven by a workspace inventory) does not start, git refuses every call, and workspace policy files are not read. Click to manage workspace trust.',
          command: COMMANDS.workspaceTrust,
        });
      }
      if (rules > 0) {
        notices.push({
          kind: 'notice',
          id: 'policy-kept',
          text: `${rules} rule${rules === 1 ? '' : 's'} kept from ${kept.every((k) => k.removed) ? 'a removed file' : 'removed or changed files'}: Reload…`,
          tooltip: kept.map((k) => `${k.rules} from ${k.file}`).join('\n'),
          command: COMMANDS.policyReload,
        });
      }
      return [
        ...notices,
        ...plane.supervisor.list().map((s) => {
          const existing = this.nodes.get(s.name) ?? { kind: 'server' as const, name: s.name };
          this.nodes.set(s.name, existing);
          return existing;
        }),
        ...this.disabledServers().map((name) => ({ kind: 'disabled' as const, name })),
      ];
    }
    if (node.kind === 'server') {
      const hint = this.row(node.name)?.hint;
      const hints: TreeNode[] = hint ? [{ kind: 'hint', server: node.name, text: hint.text, action: hint.action }] : [];
      return [...hints, ...this.toolChildren(node.name)];
    }
    return [];
  }

  private toolChildren(name: string): TreeNode[] {
    const plane = this.plane();
    if (!plane) return [];
    const managed = plane.supervisor.get(name);
    const conn = managed?.lastConnection;
    const disabled = this.disabledTools(name).map((tool) => ({ kind: 'disabledTool' as const, server: name, tool }));
    if (!conn) return [{ kind: 'message', server: name, text: noToolsText(managed?.status.state.kind ?? 'stopped', managed?.status.lastError) }, ...disabled];
    const groups: TreeNode[] = conn.targetsUri ? [{ kind: 'group', server: name, id: 'targets', label: name === 'kubernetes' ? 'Clusters' : 'Targets', uri: conn.targetsUri }] : [];
    return [...groups, ...conn.tools.map((t) => ({ kind: 'tool' as const, server: name, tool: t.name })), ...disabled];
  }

  /** Reads the server's targets resource directly (the control plane's own read, not an agent's). */
  private async readTargets(node: TreeNode & { kind: 'group' }): Promise<TreeNode[]> {
    const conn = this.plane()?.supervisor.get(node.server)?.connection;
    if (!conn) return [{ kind: 'message', server: node.server, text: 'server not running' }];
    try {
      const result = await conn.client.readResource({ uri: node.uri });
      const first = result.contents[0];
      const entries = JSON.parse(first && 'text' in first ? first.text : '[]') as TargetEntry[];
      if (entries.length === 0) return [{ kind: 'message', server: node.server, text: 'none configured' }];
      return entries.map((e) => {
        const label = e.context ?? e.name ?? e.device ?? e.host ?? '?';
        const healthy = e.reachable === true;
        const description = healthy ? ['reachable', e.version ?? e.platform].filter(Boolean).join(' · ') : e.reachable === false ? `unreachable${e.error ? `: ${e.error}` : ''}` : 'not checked yet';
        const tooltip = [label, e.server ?? e.host, description, e.checkedAt ? `checked ${humanTime(e.checkedAt)}` : undefined].filter(Boolean).join('\n');
        return { kind: 'target' as const, server: node.server, label, description, tooltip, healthy };
      });
    } catch (err) {
      return [{ kind: 'message', server: node.server, text: `cannot read targets: ${err instanceof Error ? err.message : String(err)}` }];
    }
  }

  getParent(node: TreeNode): TreeNode | undefined {
    return node.kind === 'server' || node.kind === 'notice' || node.kind === 'disabled' ? undefined : this.nodes.get(node.server);
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const plane = this.plane();
    switch (node.kind) {
      case 'server': {
        const managed = plane?.supervisor.get(node.name);
        const status = managed?.status;
        const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `server:${node.name}`;
        const row = this.row(node.name);
        if (!status || !row) return item;
        const [icon, color] = row.icon;
        item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
        item.description = row.description;
        item.contextValue = [`server.${status.state.kind}`, ...row.flags].join('.');
        const tip = new vscode.MarkdownString(undefined, true);
        tip.appendMarkdown(`**${node.name}** — ${row.description}${status.builtin ? ' (built-in)' : ''}\n\n`);
        if (row.hint) tip.appendMarkdown(`${row.hint.text}\n\n`);
        if ('pid' in status.state && status.state.pid !== undefined) tip.appendMarkdown(`- pid: ${status.state.pid}\n`);
        if (plane) tip.appendMarkdown(`- endpoint: \`${plane.gateway.url(node.name)}\`\n`);
        tip.appendMarkdown(`- tools: ${status.toolCount}\n- restarts: ${status.restarts}\n`);
        if (status.lastError) tip.appendMarkdown(`- last error: ${status.lastError.replace(/[\\`*_[\]]/g, '\\$&')}\n`);
        if (status.state.kind === 'stopped' && status.state.reason) tip.appendMarkdown(`- ${status.state.reason.replace(/[\\`*_[\]]/g, '\\$&')}\n`);
        item.tooltip = tip;
        item.accessibilityInformation = { label: `${node.name}, ${row.description}` };
        return item;
      }
      case 'disabled': {
        const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.None);
        item.id = `disabled:${node.name}`;
        item.iconPath = new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('disabledForeground'));
        item.description = 'disabled';
        item.tooltip = `${node.name} is disabled in the settings (mcpControlPlane.servers.${node.name}.enabled). Enable it from the inline button or the context menu.`;
        item.contextValue = 'server.disabled';
        return item;
      }
      case 'hint': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.id = `hint:${node.server}:${node.action}`;
        item.iconPath = new vscode.ThemeIcon(node.action === 'trust' ? 'shield' : 'plug', new vscode.ThemeColor('list.warningForeground'));
        item.tooltip =
          node.action === 'trust'
            ? 'Restricted Mode: this workspace is not trusted. Click to manage workspace trust.'
            : "VS Code's MCP list shows this server Stopped until VS Code opens a session with the gateway (on first use in chat). Click to connect now.";
        item.command =
          node.action === 'trust'
            ? { command: COMMANDS.workspaceTrust, title: 'Trust Workspace' }
            : { command: COMMANDS.serverConnect, title: 'Connect', arguments: [node.server] };
        return item;
      }
      case 'tool': {
        const tool = plane?.supervisor.get(node.server)?.lastConnection?.tools.find((t) => t.name === node.tool);
        const item = new vscode.TreeItem(node.tool, vscode.TreeItemCollapsibleState.None);
        item.id = `tool:${node.server}:${node.tool}`;
        const readOnly = tool?.annotations?.readOnlyHint === true;
        const destructive = !readOnly && tool?.annotations?.destructiveHint !== false;
        const ui = uiDecisionFor(this.context.userRules?.() ?? [], node);
        const unannotated = tool !== undefined && typeof tool.annotations?.readOnlyHint !== 'boolean' && typeof tool.annotations?.destructiveHint !== 'boolean';
        const kind = readOnly ? 'readOnly' : unannotated ? 'unannotated' : destructive ? 'destructive' : 'write';
        const ref = this.toolRef(node.server, node.tool);
        const allowable = ref !== undefined && mayAlwaysAllow(ref);
        item.description = [readOnly ? 'read-only' : unannotated ? 'not annotated' : destructive ? 'destructive' : 'writes', ui === 'allow' ? 'always allowed' : ui === 'approve' ? 'always asks' : undefined].filter(Boolean).join(' · ');
        item.iconPath = new vscode.ThemeIcon(readOnly ? 'eye' : unannotated ? 'question' : destructive ? 'flame' : 'edit', destructive && !unannotated ? new vscode.ThemeColor('list.warningForeground') : undefined);
        item.tooltip = new vscode.MarkdownString(
          `**${tool?.title ?? tool?.annotations?.title ?? node.tool}**\n\n${tool?.description ?? ''}${unannotated ? '\n\n*The server does not say whether this tool is read-only or destructive, so its calls wait for approval. If it is fine, use "Always Allow Tool…" from the context menu.*' : ''}`,
        );
        // tool.<kind>.<allowable|fixed>.<default|allowed|approval>: the menus offer "Always Allow"
        // only on allowable (non-destructive) tools.
        item.contextValue = `tool.${kind}.${allowable ? 'allowable' : 'fixed'}.${ui === 'allow' ? 'allowed' : ui === 'approve' ? 'approval' : 'default'}`;
        return item;
      }
      case 'disabledTool': {
        const item = new vscode.TreeItem(node.tool, vscode.TreeItemCollapsibleState.None);
        item.id = `disabledTool:${node.server}:${node.tool}`;
        item.description = 'disabled';
        item.iconPath = new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('disabledForeground'));
        item.tooltip = `${node.tool} is disabled (mcpControlPlane.servers.${node.server}.tools.exclude): hidden from clients and refused. Enable it from the inline button or the context menu.`;
        item.contextValue = 'toolDisabled';
        return item;
      }
      case 'group': {
        const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `group:${node.server}:${node.id}`;
        item.iconPath = new vscode.ThemeIcon('server-environment');
        return item;
      }
      case 'target': {
        const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
        item.id = `target:${node.server}:${node.label}`;
        item.description = node.description;
        item.tooltip = node.tooltip;
        item.iconPath = new vscode.ThemeIcon(node.healthy ? 'pass' : 'warning', new vscode.ThemeColor(node.healthy ? 'testing.iconPassed' : 'list.warningForeground'));
        return item;
      }
      case 'notice': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.id = `notice:${node.id}`;
        item.iconPath = new vscode.ThemeIcon('shield', new vscode.ThemeColor('list.warningForeground'));
        item.tooltip = node.tooltip;
        // No arguments: the command asks in a modal dialog what to consent to or drop.
        item.command = { command: node.command, title: node.text };
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.command = { command: COMMANDS.serverShowLog, title: 'Show Log', arguments: [node.server] };
        return item;
      }
    }
  }

  /** What the tree shows, for tests: labels, descriptions and child labels. */
  snapshot(): Array<{ label: string; description?: string; children: string[]; childDescriptions: Record<string, string> }> {
    return this.children().map((node) => {
      const item = this.getTreeItem(node);
      const childItems = this.children(node).map((c) => this.getTreeItem(c));
      return {
        label: String(item.label),
        ...(typeof item.description === 'string' ? { description: item.description } : {}),
        children: childItems.map((c) => String(c.label)),
        childDescriptions: Object.fromEntries(childItems.map((c) => [String(c.label), typeof c.description === 'string' ? c.description : ''])),
      };
    });
  }

  dispose(): void {
    this.changed.dispose();
    for (const s of this.subscriptions) s.dispose();
  }
}
