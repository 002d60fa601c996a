// Off by default, and off means not loaded: no @opentelemetry module (nor our otel.ts) is loaded by
// a control plane without an endpoint, even after a call. The same probe with an endpoint loads
// them (the witness works). Each run is its own Node process, so nothing loaded earlier counts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { startOtlpReceiver } from './otlp-receiver';

const run = promisify(execFile);
const PROBE = join(__dirname, 'load-probe.ts');

async function probe(arg: string): Promise<{ called: string; loaded: number; cached: number; total: number }> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', PROBE, arg], { timeout: 90_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { called: string; loaded: number; cached: number; total: number };
}

describe('OpenTelemetry is off by default and then not loaded', () => {
  it('without an endpoint no OpenTelemetry module is loaded; with one they are', async () => {
    const off = await probe('off');
    assert.equal(off.called, 'probe');
    assert.ok(off.total > 100, `the hook saw the modules loaded (${off.total})`);
    assert.equal(off.loaded, 0, 'no @opentelemetry module when off');
    assert.equal(off.cached, 0);
    const collector = await startOtlpReceiver();
    try {
      const on = await probe(collector.endpoint);
      assert.equal(on.called, 'probe');
      // tsx loads our otel.ts through the import hooks, and it requires the packages (require.cache).
      assert.ok(on.loaded >= 1 && on.cached > 10, `OpenTelemetry loaded when configured (hooks ${on.loaded}, require.cache ${on.cached})`);
    } finally {
      await collector.close();
    }
  });
});
