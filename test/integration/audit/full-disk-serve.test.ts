// Issue 14 item 2 through a real `mcpcp serve`: a full disk is a visible, recoverable state.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../../helpers/fixture-plane';
import { canMountTmpfs } from '../../helpers/tmpfs';
import { measureFullDisk } from './full-disk-measure';

const CLI = join(REPO_ROOT, 'dist/cli.js');

describe('mcpcp serve on a full disk', { skip: !canMountTmpfs() && 'needs root to mount a tmpfs' }, () => {
  it('refuses calls visibly (readyz 503, status, one log line), resumes by itself when space is freed, audits the gap', async (t) => {
    assert.ok(existsSync(CLI), `${CLI} is missing: run \`npm run build\` first`);
    const f = await measureFullDisk(CLI);
    t.diagnostic(
      `while full (10 s): ${f.callsWhileFull} calls, ${f.refusedWhileFull} refused, ${f.stderrLinesWhileFull} stderr lines; ready ${f.readyAfterFreeMs} ms after space was freed (interval probe); calls resumed ${f.callsResumeAfterFreeMs} ms after (next-call probe)`,
    );
    assert.ok(f.callsWhileFull > 20, `calls were made while full (${f.callsWhileFull})`);
    assert.equal(f.refusedWhileFull, f.callsWhileFull, 'every call is refused while the audit cannot be written');
    assert.match(f.refusalText, /audit log cannot be written/);
    assert.ok(f.stderrLinesWhileFull <= 2, `logged once, not per refused call: ${f.stderrLinesWhileFull} lines: ${f.stderrSample.join(' | ')}`);
    assert.equal(f.healthzWhileFull, 200, '/healthz stays liveness');
    assert.equal(f.readyzWhileFull.status, 503);
    assert.match(f.readyzWhileFull.body, /^not ready: audit log cannot be written since \d{4}-/);
    assert.match(f.statusWhileFull, /ready: NO \(audit log cannot be written/);
    assert.match(f.statusWhileFull, /audit: FAILING since .*(ENOSPC|no space).*\d+ calls? refused/);
    assert.ok(f.readyAfterFreeMs !== undefined && f.readyAfterFreeMs < 4_000, `ready again by itself (${f.readyAfterFreeMs} ms)`);
    assert.ok(f.callsResumeAfterFreeMs !== undefined && f.callsResumeAfterFreeMs < 1_000, `calls resume at once (${f.callsResumeAfterFreeMs} ms)`);
    assert.equal(f.readyzAfter, 200);
    assert.equal(f.verifyExit, 0, f.verifyOutput);
  });
});
