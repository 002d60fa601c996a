import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { approvalDigest, declaresPreview, obtainPreview, type PreviewOptions } from '../../../src/core/approvals';
import { Redactor } from '../../../src/core/redact';

function options(extra: Partial<PreviewOptions> = {}): PreviewOptions {
  return {
    builtin: true,
    declared: true,
    server: 'kubernetes',
    args: { name: 'web', replicas: 0 },
    run: async (args) => ({ content: [{ type: 'text', text: `would scale ${String(args.name)}` }], structuredContent: { diff: '-replicas: 3\n+replicas: 0' } }),
    redactor: new Redactor(),
    ...extra,
  };
}

describe('declaresPreview', () => {
  it('reads _meta["mcpcp/preview"]', () => {
    assert.equal(declaresPreview({ _meta: { 'mcpcp/preview': true } }), true);
    assert.equal(declaresPreview({ _meta: { 'mcpcp/preview': 'yes' } }), false);
    assert.equal(declaresPreview({}), false);
  });
});

describe('obtainPreview', () => {
  it('runs a built-in tool with dryRun: true and keeps the result', async () => {
    const calls: Record<string, unknown>[] = [];
    const preview = await obtainPreview(
      options({
        run: async (args) => {
          calls.push(args);
          return { content: [{ type: 'text', text: 'would delete 2 pods' }] };
        },
      }),
    );
    assert.deepEqual(calls, [{ name: 'web', replicas: 0, dryRun: true }]);
    assert.deepEqual(preview, { status: 'ok', result: { content: [{ type: 'text', text: 'would delete 2 pods' }] }, truncated: false });
    assert.notEqual(approvalDigest(calls[0] ?? {}), approvalDigest({ name: 'web', replicas: 0 }), 'the dry run never shares the real call\'s digest');
  });

  it('does not run or trust a third-party preview', async () => {
    let ran = false;
    const preview = await obtainPreview(options({ builtin: false, run: async () => { ran = true; return {}; } }));
    assert.equal(ran, false);
    assert.equal(preview.status, 'untrusted');
  });

  it('has nothing to show for a tool without a preview', async () => {
    assert.deepEqual(await obtainPreview(options({ declared: false })), { status: 'none' });
  });

  it('shows the approver the preview as the server returned it, flagged when it looks like it holds a secret', async () => {
    const redactor = new Redactor({ secrets: ['hunter2hunter2'] });
    const preview = await obtainPreview(options({ redactor, run: async () => ({ content: [{ type: 'text', text: 'would delete branch AKIAIOSFODNN7EXAMPLE' }] }) }));
    assert.equal(preview.status, 'ok');
    assert.match(JSON.stringify(preview), /would delete branch AKIAIOSFODNN7EXAMPLE/);
    assert.equal(preview.status === 'ok' && preview.secretLooking, true);
    const plain = await obtainPreview(options({ redactor, run: async () => ({ content: [{ type: 'text', text: 'would delete branch feature-1' }] }) }));
    assert.equal(plain.status === 'ok' && plain.secretLooking, undefined);
  });

  it('masks secrets in the error of a failed preview', async () => {
    const redactor = new Redactor({ secrets: ['hunter2hunter2'] });
    const preview = await obtainPreview(options({ redactor, run: async () => ({ isError: true, content: [{ type: 'text', text: 'password hunter2hunter2 refused' }] }) }));
    assert.ok(!JSON.stringify(preview).includes('hunter2hunter2'));
  });

  it('reports a failing dry run instead of throwing', async () => {
    assert.deepEqual(await obtainPreview(options({ run: async () => Promise.reject(new Error('no such deployment')) })), { status: 'failed', error: 'no such deployment' });
    assert.deepEqual(await obtainPreview(options({ run: async () => ({ isError: true, content: [{ type: 'text', text: 'forbidden' }] }) })), { status: 'failed', error: 'forbidden' });
  });

  it('gives up after the timeout and aborts the dry run', async () => {
    let signal: AbortSignal | undefined;
    const preview = await obtainPreview(options({ timeoutMs: 30, run: (_args, s) => { signal = s; return new Promise(() => undefined); } }));
    assert.equal(preview.status, 'failed');
    assert.match(preview.status === 'failed' ? preview.error : '', /30 ms/);
    assert.equal(signal?.aborted, true);
  });

  it('cuts a large result with a note', async () => {
    const preview = await obtainPreview(options({ maxChars: 100, run: async () => ({ text: 'x'.repeat(1000) }) }));
    assert.equal(preview.status, 'ok');
    if (preview.status === 'ok') {
      assert.equal(preview.truncated, true);
      assert.match(String(preview.result), /preview cut at 100 of \d+ characters/);
    }
  });
});
