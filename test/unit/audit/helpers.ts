import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { AuditLog, newAuditKeyring, type AuditEvent, type AuditLogOptions } from '../../../src/core/audit';
import { Redactor } from '../../../src/core/redact';

/** The key ring of the tests' logs. */
export const TEST_KEYS = newAuditKeyring();

/**
 * A fresh audit directory `<temp>/audit`, removed (with its sibling `audit-checkpoints`) when the
 * test ends.
 */
export function tempDir(t: TestContext, prefix = 'mcpcp-audit-'): string {
  const parent = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(parent, { recursive: true, force: true }));
  const dir = join(parent, 'audit');
  mkdirSync(dir);
  return dir;
}

export async function openLog(dir: string, options: Partial<AuditLogOptions> = {}): Promise<AuditLog> {
  return AuditLog.open({ dir, instanceId: 'test', redactor: new Redactor(), keys: TEST_KEYS, ...options });
}

/** A varied, realistic event for record `i`. */
export function sampleEvent(i: number): AuditEvent {
  const kinds: AuditEvent[] = [
    { type: 'call.requested', callId: `c${i}`, kind: 'tool', server: 'kubernetes', tool: 'pods_list', client: { name: 'Visual Studio Code', version: '1.101.0' }, detail: { args: { namespace: 'default', i } } },
    { type: 'policy.decided', callId: `c${i}`, server: 'kubernetes', tool: 'pod_delete', decision: 'approve', reason: 'destructive', rule: { source: 'default', id: 'destructive' } },
    { type: 'call.completed', callId: `c${i}`, server: 'git', tool: 'repo_status', outcome: 'ok', durationMs: 12.5, resultBytes: 2048 },
    { type: 'call.failed', callId: `c${i}`, server: 'network', tool: 'device_command', outcome: 'timeout', durationMs: 30000, error: 'device did not answer' },
    { type: 'server.crashed', server: 'acme', detail: { exitCode: 1, signal: null } },
  ];
  return kinds[i % kinds.length] ?? { type: 'config.changed' };
}

/** The lines of every `.jsonl` file of the directory, by file name. */
export function readAuditLines(dir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort()) {
    const text = readFileSync(join(dir, name), 'utf8');
    out.set(name, text === '' ? [] : text.replace(/\n$/, '').split('\n'));
  }
  return out;
}
