import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Emitter, type Event } from '../events';
import { LastValidPolicy, PolicyEngine, effectWarnings, formatPolicyIssue, loadPolicyFile, type PolicyRule } from '../policy';
import type { PolicySource } from './oversight';

/** The workspace policy file, relative to each root. */
export const WORKSPACE_POLICY_FILE = '.mcpcp/policy.yaml';

/**
 * The policy in force, from its three sources: the user's settings (or the headless operator's
 * config), the headless config file's own rules, and the workspace files `.mcpcp/policy.yaml`
 * (which can only tighten). Workspace files are watched; an invalid one keeps its last valid
 * policy (or, never valid, sends every call to approval) and is reported as a problem.
 */
export class LayeredPolicy implements PolicySource {
  private user: readonly PolicyRule[] = [];
  private workspaceConfigRules: readonly PolicyRule[] = [];
  private config: readonly PolicyRule[] = [];
  private baseReadOnly = false;
  private readonly workspace = new Map<string, LastValidPolicy>();
  private readonly watchers = new Map<string, FSWatcher>();
  private current: PolicyEngine = new PolicyEngine({});
  private readonly changed = new Emitter<string>();
  /** Fires with the source that changed (for the audit's config.changed). */
  readonly onDidChange: Event<string> = this.changed.event;

  constructor(private readonly log?: (message: string) => void) {}

  engine(): PolicyEngine {
    return this.current;
  }

  readOnlyMode(): boolean {
    return this.baseReadOnly || [...this.workspace.values()].some((p) => p.current.policy.readOnlyMode === true);
  }

  problems(): string[] {
    const errors = [...this.workspace.values()].flatMap((p) => (p.current.error ? [`${formatPolicyIssue(p.current.error)} (${p.current.status === 'kept' ? 'the last valid version stays in force' : 'every call needs approval until it is fixed'})`] : []));
    // Rules in force that match arguments of tools declaring effects (another spelling dodges them).
    const warnings = [
      ...(['user', 'config'] as const).flatMap((layer) => effectWarnings(layer === 'user' ? this.user : this.config).map((w) => `warning: ${layer} policy rule #${w.index + 1}: ${w.message}`)),
      ...[...this.workspace.entries()].flatMap(([file, p]) => effectWarnings(p.current.policy.rules).map((w) => `warning: ${file} rules[${w.index}]: ${w.message}`)),
    ];
    return [...errors, ...warnings];
  }

  /** User settings (VS Code) or the operator's config file (headless). */
  setBase(layers: { user?: readonly PolicyRule[]; config?: readonly PolicyRule[]; readOnlyMode: boolean }): void {
    this.user = layers.user ?? [];
    this.config = layers.config ?? [];
    this.baseReadOnly = layers.readOnlyMode;
    this.rebuild('settings');
  }

  /** Rules from a workspace-provided config file (headless `.mcpcp/config.yaml`): they only tighten. */
  setWorkspaceRules(rules: readonly PolicyRule[]): void {
    this.workspaceConfigRules = rules;
    this.rebuild('workspace configuration');
  }

  /**
   * Loads `.mcpcp/policy.yaml` of each root and watches them; files of roots no longer listed are
   * dropped. Resolves once every file is loaded.
   */
  async setWorkspaceFiles(files: readonly string[]): Promise<void> {
    for (const file of [...this.workspace.keys()]) {
      if (!files.includes(file)) {
        this.workspace.delete(file);
        this.watchers.get(file)?.close();
        this.watchers.delete(file);
      }
    }
    await Promise.all(files.map((file) => this.reload(file)));
    for (const file of files) this.watchFile(file);
    this.rebuild('workspace policy');
  }

  dispose(): void {
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    this.changed.dispose();
  }

  private async reload(file: string): Promise<void> {
    const holder = this.workspace.get(file) ?? new LastValidPolicy(file);
    this.workspace.set(file, holder);
    const inForce = holder.accept(await loadPolicyFile(file, { layer: 'workspace' }));
    if (inForce.error) this.log?.(`policy: ${formatPolicyIssue(inForce.error)}`);
  }

  /** Watches the folder (the file may not exist yet, or be replaced by an editor's rename). */
  private watchFile(file: string): void {
    if (this.watchers.has(file)) return;
    try {
      const watcher = watch(dirname(file), { persistent: false }, (_event, name) => {
        if (name !== null && name !== basename(file)) return;
        void this.reload(file).then(() => this.rebuild(`workspace policy ${file}`));
      });
      watcher.on('error', () => undefined);
      this.watchers.set(file, watcher);
    } catch {
      // The .mcpcp folder does not exist: nothing to watch until the roots change.
    }
  }

  private rebuild(source: string): void {
    const workspaceRules = [...this.workspaceConfigRules, ...[...this.workspace.values()].flatMap((p) => p.current.policy.rules)];
    this.current = new PolicyEngine({ user: this.user, config: this.config, workspace: workspaceRules, readOnlyMode: this.readOnlyMode() });
    this.changed.fire(source);
  }
}
