// What `vscode` is inside the main bundle (dist/extension-main.js; esbuild.config.mjs resolves every
// `import … from 'vscode'` of that bundle to this file, and this file's own import to VS Code's
// API): VS Code's API, except that registering a command package.json contributes hands the
// handler to the shell (src/extension/shell.ts), which registered that id with VS Code at
// activation as a proxy that loads this bundle and runs the handler with the caller's arguments.
// Commands are registered in many modules (adopt, consent, team, webviews, tool rules): this keeps
// each of them written against the plain API.
import * as vscode from 'vscode';
import type { ContributedCommands } from './shell';

/** Set once by the main module's activate(), before anything registers a command. */
let contributed: ContributedCommands | undefined;

/** Routes the registration of contributed commands to the shell from now on. */
export function routeContributedCommands(to: ContributedCommands): void {
  contributed = to;
}

export const commands: typeof vscode.commands = {
  ...vscode.commands,
  registerCommand(id: string, callback: (...args: never[]) => unknown, thisArg?: unknown): vscode.Disposable {
    if (contributed?.has(id)) return contributed.register(id, callback, thisArg);
    return vscode.commands.registerCommand(id, callback, thisArg);
  },
};

// The rest of the API as VS Code hands it out (the one `export *` of the code base: this file stands
// for the whole `vscode` module; the local `commands` above takes precedence over the star export).
export * from 'vscode';
