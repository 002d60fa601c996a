import * as vscode from 'vscode';
import { Emitter, type Event } from '../core/events';
import { assertSecretName, type SecretStore } from '../core/secrets/secret-store';

const INDEX_KEY = 'mcpControlPlane.secretNames';

/**
 * The secret store on VS Code's SecretStorage. SecretStorage cannot enumerate keys, so the names
 * (never the values) are kept in global state.
 */
export class VsCodeSecretStore implements SecretStore {
  private readonly changed = new Emitter<string>();
  readonly onDidChange: Event<string> = this.changed.event;

  constructor(private readonly secrets: vscode.SecretStorage, private readonly state: vscode.Memento) {
    secrets.onDidChange((e) => this.changed.fire(e.key.replace(/^secret:/, '')));
  }

  async get(name: string): Promise<string | undefined> {
    assertSecretName(name);
    return this.secrets.get(`secret:${name}`);
  }

  async set(name: string, value: string): Promise<void> {
    assertSecretName(name);
    await this.secrets.store(`secret:${name}`, value);
    const names = new Set(this.names());
    names.add(name);
    await this.state.update(INDEX_KEY, [...names].sort());
  }

  async delete(name: string): Promise<void> {
    assertSecretName(name);
    await this.secrets.delete(`secret:${name}`);
    await this.state.update(INDEX_KEY, this.names().filter((n) => n !== name));
  }

  async list(): Promise<string[]> {
    return this.names();
  }

  private names(): string[] {
    return this.state.get<string[]>(INDEX_KEY, []);
  }
}
