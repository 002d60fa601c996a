import { readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { canonicalJson } from '../canonical-json';
import { Emitter, type Event } from '../events';
import { LastValidPolicy, PolicyEngine, effectWarnings, formatPolicyIssue, loadPolicyFile, type PolicyFile, type PolicyRequest, type PolicyResult, type PolicyRule } from '../policy';
import type { PolicySource } from './oversight';

/** The workspace policy file, relative to each root. */
export const WORKSPACE_POLICY_FILE = '.mcpcp/policy.yaml';

/** Folders never searched for workspace policy files (large, generated or not the project's). */
const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', 'out', 'build', 'target', 'vendor', '.venv', 'venv', '__pycache__']);
/** How deep under a root `.mcpcp/policy.yaml` files are looked for, and how many folders are watched. */
const MAX_DEPTH = 6;
const MAX_DIRS = 2_000;

/**
 * The policy in force, from its three sources: the user's settings (or the headless operator's
 * config), the headless config file's own rules, and the workspace files `.mcpcp/policy.yaml`
 * anywhere under the roots (which can only tighten). Workspace files are watched, including ones
 * created after start in a folder that had no `.mcpcp/`; an invalid one keeps its last valid policy
 * (or, never valid, sends every call to approval) and is reported as a problem.
 *
 * Over the life of an instance the workspace policy only tightens: an edit that only adds
 * non-allow rules (or turns read-only mode on) applies at once; removing the file, or any other
 * edit, applies its new rules at once AND keeps the old version in force beside it (the stricter
 * decision wins) until a human reloads (`dropKept`). An agent that deletes or rewrites the file
 * (a `stash_push` of untracked files, a checkout) therefore loosens nothing.
 */
export class LayeredPolicy implements PolicySource {
  private user: readonly PolicyRule[] = [];
  private workspaceConfigRules: readonly PolicyRule[] = [];
  private config: readonly PolicyRule[] = [];
  private baseReadOnly = false;
  private readonly workspace = new Map<string, LastValidPolicy>();
  /** Earlier versions of each workspace file kept in force after a removal or loosening edit. */
  private readonly kept = new Map<string, PolicyFile[]>();
  private readonly watchers = new Map<string, FSWatcher & { ino?: number }>();
  private roots: readonly string[] = [];
  private rescanTimer: NodeJS.Timeout | undefined;
  private current: PolicyEngine = new PolicyEngine({});
  private readonly changed = new Emitter<string>();
  /** Fires with the source that changed (for the audit's config.changed). */
  readonly onDidChange: Event<string> = this.changed.event;

  constructor(private readonly log?: (message: string) => void) {}

  engine(): PolicyEngine {
    return this.current;
  }

  readOnlyMode(): boolean {
    return (
      this.baseReadOnly ||
      [...this.workspace.values()].some((p) => p.current.policy.readOnlyMode === true) ||
      [...this.kept.values()].some((list) => list.some((k) => k.readOnlyMode === true))
    );
  }

  problems(): string[] {
    const broken = [...this.workspace.values()].flatMap((p) => (p.current.error ? [`${formatPolicyIssue(p.current.error)} (${p.current.status === 'kept' ? 'the last valid version stays in force' : 'every call needs approval until it is fixed'})`] : []));
    // Rules in force that match arguments of tools declaring effects (another spelling dodges them).
    const warnings = [
      ...(['user', 'config'] as const).flatMap((layer) => effectWarnings(layer === 'user' ? this.user : this.config).map((w) => `warning: ${layer} policy rule #${w.index + 1}: ${w.message}`)),
      ...[...this.workspace.entries()].flatMap(([file, p]) => effectWarnings(p.current.policy.rules).map((w) => `warning: ${file} rules[${w.index}]: ${w.message}`)),
    ];
    return [...broken, ...warnings, ...this.keptSummary().map((k) => `${k.rules} rule${k.rules === 1 ? '' : 's'} kept from ${k.removed ? 'a removed file' : 'an earlier version of'} ${k.file}${k.readOnlyMode ? ' (with read-only mode)' : ''}: they stay in force until a human reloads the workspace policy (\`mcpcp policy reload\`, or Reload Workspace Policy in VS Code)`)];
  }

  /** Per file, what is kept in force from removed or loosened versions. */
  keptSummary(): Array<{ file: string; rules: number; readOnlyMode: boolean; removed: boolean }> {
    return [...this.kept.entries()]
      .filter(([, list]) => list.length > 0)
      .map(([file, list]) => ({
        file,
        rules: list.reduce((n, k) => n + k.rules.length, 0),
        readOnlyMode: list.some((k) => k.readOnlyMode === true),
        removed: this.workspace.get(file)?.current.status === 'missing',
      }));
  }

  /**
   * A human's Reload: drops the rules kept from removed or loosened workspace files, so the files as
   * they are now are the whole workspace policy. Only behind a human gesture (VS Code modal, the
   * approver credential on a terminal); audited through `onDidChange`.
   */
  dropKept(who: string): number {
    const count = this.keptSummary().reduce((n, k) => n + k.rules, 0);
    this.kept.clear();
    for (const [file, holder] of this.workspace) if (holder.current.status === 'missing') this.workspace.delete(file);
    this.rebuild(`workspace policy reloaded by ${who}: ${count} kept rule${count === 1 ? '' : 's'} dropped`);
    return count;
  }

  /**
   * Finds `.mcpcp/policy.yaml` anywhere under each root (up to MAX_DEPTH levels, skipping
   * node_modules, .git and build output), loads them and watches the folders, so a policy file
   * created later (also in a folder that had no .mcpcp/) is picked up. Files of roots no longer
   * listed are dropped (the user removed the folder); a file that vanished under a listed root is a
   * removal, whose rules are kept.
   */
  async setWorkspaceRoots(roots: readonly string[]): Promise<void> {
    this.roots = [...roots];
    const found = roots.flatMap((r) => this.scan(r));
    const under = (file: string): boolean => roots.some((r) => file.startsWith(r.endsWith(sep) ? r : `${r}${sep}`));
    for (const file of [...this.workspace.keys()]) if (!under(file)) (this.workspace.delete(file), this.kept.delete(file));
    for (const [dir, w] of this.watchers) if (!under(join(dir, 'x'))) (w.close(), this.watchers.delete(dir));
    const files = [...new Set([...found, ...[...this.workspace.keys()].filter(under)])];
    await Promise.all(files.map((file) => this.reload(file)));
    this.rebuild('workspace policy');
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
        this.kept.delete(file);
      }
    }
    await Promise.all(files.map((file) => this.reload(file)));
    for (const file of files) this.watchDir(dirname(file));
    this.rebuild('workspace policy');
  }

  dispose(): void {
    clearTimeout(this.rescanTimer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    this.changed.dispose();
  }

  /**
   * Loads the file again. A change that is not a pure tightening (removal, a rule changed or gone,
   * an `allow` added, read-only mode switched off) keeps the version before it in force; returns a
   * description of what happened for the audit.
   */
  private async reload(file: string): Promise<string> {
    const holder = this.workspace.get(file) ?? new LastValidPolicy(file);
    this.workspace.set(file, holder);
    const before = holder.current.status === 'loaded' || holder.current.status === 'kept' ? holder.current.policy : undefined;
    const inForce = holder.accept(await loadPolicyFile(file, { layer: 'workspace' }));
    if (inForce.error) this.log?.(`policy: ${formatPolicyIssue(inForce.error)}`);
    const after = inForce.status === 'missing' ? { rules: [] } : inForce.policy;
    let what = inForce.status === 'missing' ? 'missing' : 'loaded';
    if (before !== undefined && (before.rules.length > 0 || before.readOnlyMode === true) && !onlyTightens(before, after)) {
      const list = this.kept.get(file) ?? [];
      if (!list.some((k) => canonicalJson(k) === canonicalJson(before))) list.push(before);
      this.kept.set(file, list);
      what = `${inForce.status === 'missing' ? 'removed' : 'loosened'}: its earlier version (${before.rules.length} rule${before.rules.length === 1 ? '' : 's'}) stays in force until a human reloads`;
      this.log?.(`policy: ${file} ${what}`);
    }
    // A kept version the file now implies again (restored, or tightened beyond it) is not needed.
    const list = this.kept.get(file);
    if (list) {
      const still = list.filter((k) => !onlyTightens(k, after));
      if (still.length > 0) this.kept.set(file, still);
      else this.kept.delete(file);
    }
    return what;
  }

  /** Workspace policy files under a root, and a watcher on each folder searched. */
  private scan(root: string): string[] {
    const found: string[] = [];
    let dirs = 0;
    const walk = (dir: string, depth: number): void => {
      if (dirs++ > MAX_DIRS) return;
      this.watchDir(dir);
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        if (e.name === '.mcpcp') {
          const mcpcp = join(dir, e.name);
          this.watchDir(mcpcp);
          found.push(join(mcpcp, 'policy.yaml'));
          continue;
        }
        if (depth >= MAX_DEPTH || SKIP_DIRS.has(e.name) || e.name.startsWith('.')) continue;
        walk(join(dir, e.name), depth + 1);
      }
    };
    walk(root, 0);
    return found;
  }

  /**
   * Watches a folder: in a `.mcpcp` folder, policy.yaml being written, renamed or deleted reloads it;
   * elsewhere, a new folder (a `.mcpcp` among them) makes the roots be searched again.
   */
  private watchDir(dir: string): void {
    let ino: number;
    try {
      ino = statSync(dir).ino;
    } catch {
      return;
    }
    const existing = this.watchers.get(dir);
    // A folder deleted and created again (git stash -u, a checkout) is a new inode: watch it anew.
    if (existing && existing.ino === ino) return;
    existing?.close();
    try {
      const inMcpcp = basename(dir) === '.mcpcp';
      const watcher: FSWatcher & { ino?: number } = watch(dir, { persistent: false }, (event, name) => {
        if (inMcpcp) {
          if (name !== null && name !== 'policy.yaml') return;
          const file = join(dir, 'policy.yaml');
          void this.reload(file).then((what) => this.rebuild(`workspace policy ${file} ${what}`));
          return;
        }
        // Only entries appearing or vanishing can make a new .mcpcp/ reachable; edits of files cannot.
        if (event === 'change' || (name !== null && (SKIP_DIRS.has(name) || (name.startsWith('.') && name !== '.mcpcp')))) return;
        clearTimeout(this.rescanTimer);
        this.rescanTimer = setTimeout(() => void this.rescan(), 250);
        this.rescanTimer.unref?.();
      });
      watcher.ino = ino;
      watcher.on('error', () => {
        watcher.close();
        if (this.watchers.get(dir) === watcher) this.watchers.delete(dir);
      });
      this.watchers.set(dir, watcher);
    } catch {
      // Gone or unreadable: the parent's watcher searches again when it reappears.
    }
  }

  /** Searches the roots again for policy files created since (new folders, a new .mcpcp/). */
  private async rescan(): Promise<void> {
    const found = this.roots.flatMap((r) => this.scan(r));
    const fresh = found.filter((f) => !this.workspace.has(f));
    // Known files are read again too: their folder may have been deleted and made again meanwhile.
    const known = found.filter((f) => this.workspace.has(f));
    const snapshot = (): string => canonicalJson(known.map((f) => this.workspace.get(f)?.current.policy ?? null));
    const before = snapshot();
    const what = await Promise.all(fresh.map(async (f) => `${relative(this.roots[0] ?? '', f) || f} ${await this.reload(f)}`));
    const knownWhat = await Promise.all(known.map(async (f) => `${f} ${await this.reload(f)}`));
    if (fresh.length > 0) this.rebuild(`workspace policy found: ${what.join(', ')}`);
    else if (snapshot() !== before) this.rebuild(`workspace policy ${knownWhat.join(', ')}`);
  }

  private rebuild(source: string): void {
    const readOnlyMode = this.readOnlyMode();
    const layers = (workspace: readonly PolicyRule[]): ConstructorParameters<typeof PolicyEngine>[0] => ({ user: this.user, config: this.config, workspace, readOnlyMode });
    // Each workspace file is its own first-match list: one file's `allow` must not stop another
    // file's deny from matching. Kept versions are lists of their own too.
    const files = [...this.workspace.values()].map((p) => p.current.policy.rules).filter((r) => r.length > 0);
    const kept = [...this.kept.values()].flat().map((k) => k.rules);
    const groups = [...files, ...kept];
    const first = this.workspaceConfigRules.length > 0 || groups.length === 0 ? this.workspaceConfigRules : groups.shift()!;
    this.current = groups.length === 0 ? new PolicyEngine(layers(first)) : new StrictestPolicyEngine(layers(first), groups.map((g) => new PolicyEngine(layers(g))));
    this.changed.fire(source);
  }
}

const RANK = { allow: 0, approve: 1, deny: 2 } as const;

/**
 * Each workspace rule list (one per file, one per kept version) evaluated separately over the same
 * base (first-match order inside each), the strictest decision winning: a workspace list can only
 * add denials and approvals.
 */
class StrictestPolicyEngine extends PolicyEngine {
  constructor(main: ConstructorParameters<typeof PolicyEngine>[0], private readonly kept: readonly PolicyEngine[]) {
    super(main);
  }

  override evaluate(request: PolicyRequest): PolicyResult {
    let result = super.evaluate(request);
    for (const engine of this.kept) {
      const r = engine.evaluate(request);
      if (RANK[r.decision] > RANK[result.decision]) result = r;
    }
    return result;
  }
}

/**
 * True when `after` is at least as strict as `before` for every request: `before`'s rules appear in
 * `after` in the same order (same content), every added rule denies or asks for approval (an added
 * `allow` could stop a later rule from matching), and read-only mode is not switched off.
 */
export function onlyTightens(before: PolicyFile, after: PolicyFile): boolean {
  if (before.readOnlyMode === true && after.readOnlyMode !== true) return false;
  const old = before.rules.map((r) => canonicalJson(r));
  let i = 0;
  for (const rule of after.rules) {
    const text = canonicalJson(rule);
    if (i < old.length && text === old[i]) {
      i++;
      continue;
    }
    if (rule.decision === 'allow') return false;
  }
  return i === old.length;
}
