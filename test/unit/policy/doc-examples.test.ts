// Every policy example in the README and docs/policy.md is a policy file with tests: it must load,
// and its cases (real tools only: a built-in tool that does not exist fails) must pass.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatPolicyIssue, formatPolicyTestResult, parsePolicyText } from '../../../src/core/policy';

const ROOT = join(__dirname, '../../..');

function yamlBlocks(file: string): { line: number; text: string }[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out: { line: number; text: string }[] = [];
  const re = /```yaml\n([\s\S]*?)```/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (/^rules:/m.test(m[1]!)) out.push({ line: text.slice(0, m.index).split('\n').length + 1, text: m[1]! });
  }
  return out;
}

describe('policy examples in the documentation', () => {
  for (const file of ['README.md', 'docs/policy.md']) {
    const blocks = yamlBlocks(file);
    it(`${file} has policy examples`, () => assert.ok(blocks.length > 0));
    for (const block of blocks) {
      it(`${file}:${block.line} loads and its tests pass`, () => {
        const layer = /^# layer: (user|config|workspace)/m.exec(block.text)?.[1] as 'user' | 'config' | 'workspace' | undefined;
        const result = parsePolicyText(block.text, `${file}:${block.line}`, { layer: layer ?? 'workspace' });
        assert.ok(result.ok, result.ok ? '' : `${formatPolicyIssue(result.error)}\n${(result.tests ?? []).map(formatPolicyTestResult).join('\n')}`);
        assert.ok((result.tests ?? []).length > 0, 'an example carries tests: that pin what it decides');
        assert.deepEqual(result.warnings ?? [], [], 'examples use effect fields, not args, for tools that declare effects');
      });
    }
  }
});
