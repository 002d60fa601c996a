// Shared by the hostile-repository suites (split in two files so each stays well inside the
// per-file timeout on a loaded machine): a trap remote that counts who knocked, fresh labs, and
// the payload test — each payload shown live with plain git first, then run against every tool.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanup, connect, tempDir } from '../../unit/git/fixture';
import { describe as describeOutcome, everyTool } from './exercise';
import { buildLab, clearMarkers, markersSet, type Lab, type Payload } from './payloads';

export const GIT_VERSION = execFileSync('git', ['--version'], { encoding: 'utf8' }).trim();

export interface HostileLabs {
  /** A fresh lab (work tree, markers folder) whose remote is the trap. */
  newLab(): Lab;
  /** Requests the trap remote has seen so far. */
  requests(): number;
  /** The trap remote's URL. */
  url(): string;
}

/** Registers the suite's before/after hooks: the trap remote and the clean-up of every lab. */
export function hostileLabs(): HostileLabs {
  let server: Server;
  let requests = 0;
  let httpUrl = '';
  const dirs: string[] = [];
  before(async () => {
    // A remote that always asks for credentials, and counts who knocked.
    server = createServer((req, res) => {
      requests++;
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="trap"' });
      res.end('no');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    httpUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    cleanup(...dirs);
  });
  return {
    newLab() {
      const base = tempDir('mcpcp-hostile-');
      dirs.push(base);
      return buildLab(base, { url: httpUrl, requests: () => requests });
    },
    requests: () => requests,
    url: () => httpUrl,
  };
}

/** One test per payload: live with plain git, then silent against every tool of the git server. */
export function payloadSuite(payloads: readonly Payload[], labs: HostileLabs): void {
  const newLab = () => labs.newLab();
describe(`hostile repository (${GIT_VERSION}): no program the repository names runs (${payloads[0]?.id} … ${payloads[payloads.length - 1]?.id})`, () => {
  for (const payload of payloads) {
    it(`${payload.id}: ${payload.what}`, async () => {
      // 1. The payload is live: plain git runs it.
      const proof = newLab();
      payload.build(proof);
      clearMarkers(proof);
      await payload.live(proof);
      const ran = markersSet(proof);
      for (const m of payload.liveMarkers) assert.ok(ran.includes(m), `payload ${payload.id} is not live: plain git did not run ${m} (ran: ${ran.join(', ') || 'nothing'})`);

      // 2. The server, every tool, a fresh copy of the same attack.
      const lab = newLab();
      payload.build(lab);
      clearMarkers(lab);
      const h = await connect([lab.ws], payload.serverPath === undefined ? {} : { path: payload.serverPath(lab) });
      let outcomes;
      try {
        outcomes = await everyTool(h, lab.repo);
      } finally {
        await h.close();
      }
      const fired = markersSet(lab);
      assert.deepEqual(
        fired,
        [],
        `programs named by the repository ran: ${fired.map((m) => `${m} (${readFileSync(join(lab.markers, m), 'utf8').trim().split('\n')[0]})`).join('; ')}`,
      );
      // The tools did work: a suite where everything is refused proves nothing.
      const ok = (tool: string) => outcomes.filter((o) => o.tool === tool && !o.isError).length;
      for (const tool of ['repo_status', 'diff', 'log', 'show', 'blame', 'add', 'commit', 'switch', 'restore', 'clean', 'reset', 'backup_restore']) {
        assert.ok(ok(tool) > 0, `no successful ${tool} call against ${payload.id}:\n${outcomes.filter((o) => o.tool === tool).map(describeOutcome).join('\n')}`);
      }
      if (payload.refusedWith !== undefined) {
        const remoteCalls = outcomes.filter((o) => ['fetch', 'push'].includes(o.tool) && o.args['remote'] === 'origin');
        assert.ok(remoteCalls.every((o) => o.isError && payload.refusedWith?.test(o.text)), remoteCalls.map(describeOutcome).join('\n'));
      }
    });
  }
});
}
