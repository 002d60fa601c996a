// "Add Server…": a stdio command or an http(s) URL typed by the human becomes a server in the user
// settings, through the adoption engine (src/core/adopt): the same plan, the same consent text
// (the exact command line, the program it resolves to, env and headers with secrets as
// references), the same move of plaintext secrets into VS Code's secret storage. Takes no
// arguments: everything comes from the dialogs.
import * as vscode from 'vscode';
import { adoptServers, planAdoption, renderPlan, type ShellPath } from '../core/adopt';
import { BUILTIN_SERVERS } from '../core/builtin-servers';
import type { ControlPlane } from '../core/control-plane';
import { errorMessage } from '../core/errors';
import type { SecretStore } from '../core/secrets/secret-store';
import { settingsOwnServers } from './adopt';
import { COMMANDS } from './commands';
import { parsePair, proposedName, serverNameProblem, splitCommandLine, typedServerConfig, type TypedServer } from './add-server-input';
import type { Prompts } from './tool-rules';

const STORE_LABEL = "VS Code's secret storage";

export interface AddServerDeps {
  plane(): ControlPlane | undefined;
  secrets: SecretStore;
  shellPath: ShellPath;
  prompts: Prompts;
  log(message: string): void;
  /** Where adoption keeps backups (`backupRoot` of the extension's global storage); Add Server edits no file, so none is written. */
  backupDir: string;
}

export function registerAddServer(deps: AddServerDeps): vscode.Disposable {
  const { prompts } = deps;
  const run = async (): Promise<void> => {
    const plane = deps.plane();
    if (!plane) throw new Error('the control plane is not running');
    const kind = await prompts.pick(
      [
        { label: 'Command (stdio)', description: 'a program the control plane starts and supervises', value: 'stdio' as const },
        { label: 'URL (http/https)', description: 'a running server reached over Streamable HTTP (SSE fallback)', value: 'url' as const },
      ],
      { title: 'Add MCP Server', placeHolder: 'How is the server reached?' },
    );
    if (!kind) return;
    const typed: TypedServer = { name: '' };
    if (kind.value === 'stdio') {
      const line = await prompts.input({
        title: 'Add MCP Server: command',
        prompt: 'The program and its arguments, e.g. npx -y @modelcontextprotocol/server-memory. Quotes group words; nothing is expanded and no shell runs it.',
        ignoreFocusOut: true,
        validateInput: (v) => {
          try {
            return splitCommandLine(v).length === 0 ? 'type a program to run' : undefined;
          } catch (err) {
            return errorMessage(err);
          }
        },
      });
      if (line === undefined) return;
      typed.words = splitCommandLine(line);
    } else {
      const url = await prompts.input({
        title: 'Add MCP Server: URL',
        prompt: 'The server\'s endpoint, e.g. https://mcp.example.com/mcp',
        ignoreFocusOut: true,
        validateInput: (v) => {
          try {
            const u = new URL(v.trim());
            return u.protocol === 'http:' || u.protocol === 'https:' ? undefined : 'an http:// or https:// URL';
          } catch {
            return 'an http:// or https:// URL';
          }
        },
      });
      if (url === undefined) return;
      typed.url = url.trim();
    }
    const taken = [...BUILTIN_SERVERS.map((b) => b.name), ...Object.keys(plane.currentConfig.servers)];
    const name = await prompts.input({
      title: 'Add MCP Server: name',
      prompt: 'Its name in the Servers view and the gateway URL (lower-case letters, digits and dashes)',
      value: proposedName(typed.words, typed.url),
      ignoreFocusOut: true,
      validateInput: (v) => serverNameProblem(v, taken),
    });
    if (name === undefined) return;
    typed.name = name;
    // Environment variables (stdio) or headers (URL), one per box; an empty box ends the list.
    const pairKind = typed.words ? 'env' : 'header';
    const pairs: Record<string, string> = {};
    for (let n = 0; n < 32; n++) {
      const entry = await prompts.input({
        title: `Add MCP Server: ${pairKind === 'env' ? 'environment variable' : 'HTTP header'} (optional)`,
        prompt: `${pairKind === 'env' ? 'NAME=value' : 'Name: value'}; leave empty when done. A token or key is moved into ${STORE_LABEL}, never written to settings.`,
        ignoreFocusOut: true,
        validateInput: (v) => (v.trim() === '' || parsePair(v, pairKind) ? undefined : pairKind === 'env' ? 'NAME=value' : 'Name: value'),
      });
      if (entry === undefined) return;
      if (entry.trim() === '') break;
      const pair = parsePair(entry, pairKind)!;
      pairs[pair.key] = pair.value;
    }
    if (pairKind === 'env') typed.env = pairs;
    else typed.headers = pairs;

    const parsed = typedServerConfig(typed);
    const plan = planAdoption(parsed, { existing: plane.currentConfig.servers, secretNames: await deps.secrets.list(), pathValue: await deps.shellPath.path(), editorRunsFile: false, move: false });
    if (plan.servers.length === 0) {
      prompts.warn(`MCP Control Plane: "${name}" was not added: ${plan.skipped.map((s) => s.reason).join('; ') || 'nothing to add'}.`);
      return;
    }
    for (const s of plan.servers) delete s.config.adoptedFrom;
    const detail = renderPlan(plan, { storeLabel: STORE_LABEL }).split('\n').slice(1).join('\n').replace(/^\n/, '');
    const button = 'Add and Start';
    const choice = await prompts.modal(
      `Add MCP server "${name}"? ${typed.words ? 'This exact command will run' : 'The control plane will connect to this URL'} under the control plane, with its approvals and audit.`,
      `${detail}\n\nIt is written to your user settings (mcpControlPlane.servers.${name}) and started.`,
      button,
    );
    if (choice !== button) return;
    const result = await adoptServers(plan, parsed, {
      secrets: deps.secrets,
      servers: settingsOwnServers(),
      approver: plane.oversight,
      recorder: plane.oversight,
      backupDir: deps.backupDir,
      promptInput: async () => undefined,
    });
    const lines = [`Added "${name}"; it starts now.`];
    if (result.secretNames.length > 0) lines.push(`Secrets in ${STORE_LABEL}: ${result.secretNames.join(', ')} (settings hold only \${secret:…} references).`);
    deps.log(`add server: ${lines.join(' ')}`);
    prompts.info(lines.join(' '));
  };
  return vscode.commands.registerCommand(COMMANDS.serverAdd, async () => {
    // Arguments are ignored: an agent, a task or a link cannot choose what runs.
    try {
      await run();
    } catch (err) {
      deps.log(`add server: ${errorMessage(err)}`);
      prompts.warn(`MCP Control Plane: ${errorMessage(err)}`);
    }
  });
}
