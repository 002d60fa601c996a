// Fixture MCP configurations copied into temporary folders under the names their programs use.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { JsonValue } from '../../../src/core/canonical-json';
import type { ActionRecorder, ChangeApprover } from '../../../src/core/adopt';

export const CONFIGS = resolve(__dirname, '../../fixtures/mcp-configs');

/** The fake tokens planted in the fixtures (never real: shapes only). */
export const TOKENS = {
  github: 'ghp_FAKEfakeFAKEfake0123456789abcdefABCD',
  githubYaml: 'ghp_FAKEfakeFAKEfake9876543210zyxwvuZYXW',
  slack: 'xoxb-000000000000-FAKEFAKEFAKEfake',
  docs: 'docs_FAKE_0123456789abcdefghij',
  dns: 'dnsapikey-0123456789abcdef',
  notion: 'notion_FAKE_abcdef0123456789',
  remotePassword: 's3cretPassw0rd',
  graph: 'graphsecret-FAKE-0123456789',
};

export function tempDir(prefix = 'mcpcp-adopt-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Copies fixture `name` to `<dir>/<target>` and returns the path. */
export function placeFixture(dir: string, name: string, target: string): string {
  const path = join(dir, target);
  mkdirSync(dirname(path), { recursive: true });
  copyFileSync(join(CONFIGS, name), path);
  return path;
}

export function read(path: string): string {
  return readFileSync(path, 'utf8');
}

/** A stand-in human at the approvals UI: answers every request as told, and remembers them. */
export class ScriptedApprover implements ChangeApprover {
  readonly requests: Array<{ action: string; args: Record<string, JsonValue>; previewText: string; reason: string }> = [];
  constructor(private readonly approve: boolean) {}
  async requestInternalApproval(input: { action: string; args: Record<string, JsonValue>; previewText: string; reason: string }): Promise<{ approved: boolean; reason: string; approvalId: string }> {
    this.requests.push(input);
    return { approved: this.approve, reason: this.approve ? 'looks right' : 'not now', approvalId: `appr-${this.requests.length}` };
  }
}

/** Keeps audit records in memory. */
export class MemoryRecorder implements ActionRecorder {
  readonly records: Array<{ action: string; outcome: 'ok' | 'error'; detail?: Record<string, unknown>; error?: string; approvalId?: string }> = [];
  async recordAction(event: { action: string; outcome: 'ok' | 'error'; detail?: Record<string, unknown>; error?: string; approvalId?: string }): Promise<void> {
    this.records.push(event);
  }
}
