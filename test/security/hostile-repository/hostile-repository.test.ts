// Threat: the repository is attacker-controlled content (a clone, an archive, a shared folder) and
// git obeys its configuration. Each payload is first shown to work with plain git (its marker
// appears); then every git tool (reads, previews, real approved calls) runs against a fresh copy
// through a real MCP client, and no marker may appear.
// The payloads are split over this file and hostile-repository-payloads.test.ts (see lab.ts).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connect, git, makeRepo, write } from '../../unit/git/fixture';
import { GIT_VERSION, hostileLabs, payloadSuite } from './lab';
import { PAYLOADS, clearMarkers, evil, markersSet, type Lab } from './payloads';

console.log(`hostile-repository suite: ${GIT_VERSION}`);
const labs = hostileLabs();
const newLab = () => labs.newLab();

payloadSuite(PAYLOADS.slice(0, Math.ceil(PAYLOADS.length / 2)), labs);
describe('the neutral values keep the user\'s own configuration', () => {
  it("a repository-level filter or credential helper is replaced by the user's global one, not by nothing", async () => {
    const lab = newLab();
    const home = join(lab.base, 'home');
    mkdirSync(home, { recursive: true });
    const userFilter = evil(lab, 'user-global-filter');
    writeFileSync(join(home, '.gitconfig'), `[filter "lfs"]\n\tclean = ${userFilter}\n\tsmudge = ${userFilter}\n`);
    write(lab.repo, '.gitattributes', '*.bin filter=lfs\n');
    git(lab.repo, 'config', 'filter.lfs.clean', evil(lab, 'repo-filter'));
    write(lab.repo, 'x.bin', 'data\n');
    clearMarkers(lab);
    const h = await connect([lab.ws], { home });
    try {
      const r = await h.call('add', { repo: lab.repo, paths: ['x.bin', '.gitattributes'] });
      assert.equal(r.isError, false, r.text);
    } finally {
      await h.close();
    }
    assert.deepEqual(markersSet(lab), ['user-global-filter'], 'the user\'s own filter (git-lfs, say) runs; the repository\'s does not');
  });
});

describe('previews have no side effects', () => {
  it('the push preview contacts no remote, runs nothing, names the resolved URL, and the approved push re-checks it', async () => {
    const lab = newLab();
    const before = labs.requests();
    git(lab.repo, 'config', 'credential.helper', evil(lab, 'credential-helper'));
    git(lab.repo, 'config', 'remote.web.pushurl', `${labs.url().replace('http://', 'http://user:s3cret@')}/push.git`);
    const h = await connect([lab.ws]);
    try {
      const preview = await h.call('push', { repo: lab.repo, remote: 'web', dryRun: true });
      assert.equal(preview.isError, false, preview.text);
      assert.match(preview.text, /computed locally .*the remote was not contacted/);
      assert.match(preview.text, new RegExp(`at http://\\S+@127\\.0\\.0\\.1:${new URL(labs.url()).port}/push\\.git`));
      assert.ok(!preview.text.includes('s3cret'));
      assert.equal(labs.requests(), before, 'the preview made an HTTP request');
      assert.deepEqual(markersSet(lab), []);

      // Between preview and approval the branch moves: the approved call pushes nothing.
      const originPreview = await h.call('push', { repo: lab.repo, dryRun: true });
      assert.match(originPreview.text, new RegExp(`at ${lab.bare.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      write(lab.repo, 'b.txt', 'moved\n');
      git(lab.repo, 'commit', '-qam', 'moved after the preview');
      const remoteBefore = git(lab.bare, 'rev-parse', 'main').trim();
      const pushed = await h.call('push', { repo: lab.repo });
      assert.equal(pushed.isError, true);
      assert.match(pushed.text, /changed since its preview/);
      assert.equal(git(lab.bare, 'rev-parse', 'main').trim(), remoteBefore, 'the remote moved');
      // A fresh preview, then the same push goes through.
      await h.call('push', { repo: lab.repo, dryRun: true });
      const again = await h.call('push', { repo: lab.repo });
      assert.equal(again.isError, false, again.text);
      assert.equal(git(lab.bare, 'rev-parse', 'main').trim(), git(lab.repo, 'rev-parse', 'main').trim());
    } finally {
      await h.close();
    }
  });

  it('the approved push refuses when the destination changed after the preview (pushurl swapped)', async () => {
    const lab = newLab();
    const h = await connect([lab.ws]);
    try {
      write(lab.repo, 'b.txt', 'new\n');
      git(lab.repo, 'commit', '-qam', 'to push');
      const preview = await h.call('push', { repo: lab.repo, dryRun: true });
      assert.equal(preview.isError, false, preview.text);
      const trap = join(lab.outside, 'other.git');
      git(lab.outside, 'init', '-q', '--bare', trap);
      git(lab.repo, 'config', 'remote.origin.pushurl', trap);
      const r = await h.call('push', { repo: lab.repo });
      assert.equal(r.isError, true);
      assert.match(r.text, /changed since its preview/);
      assert.equal(git(trap, 'for-each-ref').trim(), '', 'something was pushed to the swapped destination');
    } finally {
      await h.close();
    }
  });
});

/** Every file under `dir` with its content hash and mtime: any write shows. */
function digest(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(p, `${createHash('sha256').update(readFileSync(p)).digest('hex')} ${statSync(p).mtimeMs}`);
      else out.set(p, 'other');
    }
  };
  walk(dir);
  return out;
}

describe('every preview leaves the repository untouched', () => {
  it('no file under the work tree or .git changes, no request is made, nothing runs', async () => {
    const lab = newLab();
    git(lab.repo, 'config', 'core.fsmonitor', evil(lab, 'fsmonitor'));
    const h = await connect([lab.ws]);
    try {
      // A backup to preview restoring, stash to preview popping, changes to preview discarding.
      write(lab.repo, 'a.txt', 'one\nto be restored\nthree\n');
      assert.equal((await h.call('restore', { repo: lab.repo, paths: ['a.txt'] })).isError, false);
      write(lab.repo, 'b.txt', 'stashed\n');
      assert.equal((await h.call('stash_push', { repo: lab.repo })).isError, false);
      write(lab.repo, 'a.txt', 'one\nlocal\nthree\n');
      write(lab.repo, 'junk.txt', 'junk\n');
      git(lab.repo, 'add', 'a.txt');
      write(lab.repo, 'a.txt', 'one\nlocal again\nthree\n');
      const backups = (await h.call('backup_list', { repo: lab.repo })).text;
      const id = /^(\d{8}-\d{6}Z-restore-[0-9a-f]{6})/m.exec(backups)?.[1];
      assert.ok(id !== undefined, backups);
      clearMarkers(lab);
      const before = digest(lab.repo);
      const bareBefore = digest(lab.bare);
      const requestsBefore = labs.requests();
      const previews: [string, Record<string, unknown>][] = [
        ['commit', { message: 'x' }],
        ['commit', { amend: true, message: 'x' }],
        ['switch', { branch: 'side' }],
        ['switch', { branch: 'side', discardChanges: true }],
        ['switch', { branch: 'new', create: true, startPoint: 'side' }],
        ['reset', { mode: 'hard', target: 'HEAD~1' }],
        ['restore', { paths: ['a.txt'], staged: true }],
        ['clean', {}],
        ['stash_pop', {}],
        ['branch_delete', { name: 'side', force: true }],
        ['push', {}],
        ['push', { remote: 'web' }],
        ['push', { branch: 'side', force: true }],
        ['backup_restore', { id }],
      ];
      for (const [tool, args] of previews) {
        const r = await h.call(tool, { repo: lab.repo, ...args, dryRun: true });
        assert.match(r.text, /Dry run|Refused: forced pushes/, `${tool}: ${r.text}`);
      }
      const after = digest(lab.repo);
      const changed = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k));
      assert.deepEqual(changed, [], 'a preview wrote to the repository');
      assert.deepEqual(digest(lab.bare), bareBefore);
      assert.equal(labs.requests(), requestsBefore, 'a preview contacted a remote');
      assert.deepEqual(markersSet(lab), []);
    } finally {
      await h.close();
    }
  });
});

describe('values read back from the repository are validated', () => {
  it('a forged backup whose target is an option writes no file, and one naming another commit is refused', async () => {
    const lab = newLab();
    const written = join(lab.outside, 'written-by-option');
    const tree = git(lab.repo, 'rev-parse', 'HEAD^{tree}').trim();
    const head = git(lab.repo, 'rev-parse', 'HEAD').trim();
    const forge = (id: string, meta: Record<string, unknown>, parent = head) => {
      const msg = `mcp-control-plane backup: x\n\n${JSON.stringify({ v: 1, op: 'branch_delete', summary: 'forged', ...meta })}\n`;
      const sha = git(lab.repo, 'commit-tree', '-p', parent, '-m', msg, tree).trim();
      git(lab.repo, 'update-ref', `refs/mcp-control-plane/backup/${id}`, sha);
    };
    forge('20260101-000000Z-branch_delete-aaaaaa', { kind: 'commit', target: `--output=${written}`, label: 'x' });
    forge('20260101-000000Z-branch_delete-bbbbbb', { kind: 'commit', target: git(lab.repo, 'rev-parse', 'side').trim(), label: 'stolen' });
    forge('20260101-000000Z-restore-cccccc', { kind: 'files', files: ['--output=/tmp/x', '../../outside.txt'] });
    const h = await connect([lab.ws]);
    try {
      for (const dryRun of [true, false]) {
        const a = await h.call('backup_restore', { repo: lab.repo, id: '20260101-000000Z-branch_delete-aaaaaa', dryRun });
        assert.equal(a.isError, true);
        const b = await h.call('backup_restore', { repo: lab.repo, id: '20260101-000000Z-branch_delete-bbbbbb', dryRun });
        assert.equal(b.isError, true);
        assert.match(b.text, /metadata was changed/);
        const c = await h.call('backup_restore', { repo: lab.repo, id: '20260101-000000Z-restore-cccccc', dryRun });
        assert.equal(c.isError, true);
      }
    } finally {
      await h.close();
    }
    assert.ok(!existsSync(written), 'a forged target reached git as an option');
    assert.equal(git(lab.repo, 'branch', '--list', 'stolen').trim(), '');
  });

  it('a forged upstream (branch.<name>.merge) cannot smuggle an option or another ref into push', async () => {
    const lab = newLab();
    git(lab.repo, 'config', 'branch.main.merge', 'refs/heads/--upload-pack=x');
    const h = await connect([lab.ws]);
    try {
      const r = await h.call('push', { repo: lab.repo, dryRun: true });
      assert.equal(r.isError, true);
      assert.match(r.text, /not a plain branch name/);
      git(lab.repo, 'config', 'branch.main.remote', '/elsewhere/repo');
      git(lab.repo, 'config', 'branch.main.merge', 'refs/heads/main');
      const p = await h.call('pull', { repo: lab.repo });
      assert.equal(p.isError, true);
      assert.match(p.text, /not a configured remote|has no upstream/);
    } finally {
      await h.close();
    }
  });
});

describe('remote names read back from the repository', () => {
  it('a remote named like an option is never chosen, and nothing it names runs', async () => {
    const lab = newLab();
    const script = evil(lab, 'option-remote');
    const name = `--receive-pack=${script}`;
    const trap = join(lab.outside, 'option-trap.git');
    git(lab.outside, 'init', '-q', '--bare', trap);
    git(lab.repo, 'config', `remote.${name}.url`, trap);
    git(lab.repo, 'config', 'branch.main.remote', name);
    clearMarkers(lab);
    const h = await connect([lab.ws]);
    try {
      write(lab.repo, 'b.txt', 'pushed\n');
      git(lab.repo, 'commit', '-qam', 'to push');
      for (const [tool, args] of [['fetch', {}], ['push', { dryRun: true }], ['push', {}], ['pull', {}]] as const) {
        const r = await h.call(tool, { repo: lab.repo, ...args });
        assert.ok(!r.text.includes(`${script} `), r.text);
      }
      assert.equal(git(lab.bare, 'rev-parse', 'main').trim(), git(lab.repo, 'rev-parse', 'main').trim(), 'the push went to origin');
      assert.equal(git(trap, 'for-each-ref').trim(), '', 'the option-named remote was used');
    } finally {
      await h.close();
    }
    assert.deepEqual(markersSet(lab), []);
  });
});

describe('confinement is on the resolved repository', () => {
  /** A repository outside the roots holding a secret. */
  function victim(lab: Lab): { dir: string; secret: string } {
    const dir = makeRepo(join(lab.outside, 'victim'), [{ 'secret.txt': 'TOP-SECRET-CONTENT\n' }]);
    return { dir, secret: 'TOP-SECRET-CONTENT' };
  }

  async function assertRefused(lab: Lab, repo: string, pattern: RegExp): Promise<void> {
    const h = await connect([lab.ws]);
    try {
      const listed = await h.call('repo_list');
      assert.ok(!listed.text.includes(repo) || listed.isError, `repo_list offers ${repo}: ${listed.text}`);
      for (const [tool, args] of [
        ['repo_status', {}],
        ['show', { path: 'secret.txt' }],
        ['log', {}],
        ['diff', {}],
        ['commit', { message: 'x' }],
        ['backup_list', {}],
      ] as const) {
        const r = await h.call(tool, { repo, ...args });
        assert.equal(r.isError, true, `${tool} worked: ${r.text}`);
        assert.match(r.text, pattern);
        assert.ok(!r.text.includes('TOP-SECRET'), `${tool} leaked the victim's content`);
      }
    } finally {
      await h.close();
    }
  }

  it('refuses a .git file pointing outside the roots', async () => {
    const lab = newLab();
    const v = victim(lab);
    const dir = join(lab.ws, 'decoy');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '.git'), `gitdir: ${join(v.dir, '.git')}\n`);
    await assertRefused(lab, dir, /git directory .* outside the workspace roots/);
  });

  it('refuses a commondir pointing outside the roots', async () => {
    const lab = newLab();
    const v = victim(lab);
    const dir = join(lab.ws, 'linked');
    git(lab.ws, 'init', '-q', dir);
    writeFileSync(join(dir, '.git', 'commondir'), `${join(v.dir, '.git')}\n`);
    await assertRefused(lab, dir, /common git directory .* outside the workspace roots/);
  });

  it('refuses alternates (also transitive, also quoted) and an objects link outside the roots', async () => {
    const lab = newLab();
    const v = victim(lab);
    const a = join(lab.ws, 'alt');
    git(lab.ws, 'init', '-q', a);
    writeFileSync(join(a, '.git', 'objects', 'info', 'alternates'), `${join(v.dir, '.git', 'objects')}\n`);
    await assertRefused(lab, a, /alternate objects .* outside the workspace roots/);

    const hop = join(lab.ws, 'hop');
    git(lab.ws, 'init', '-q', hop);
    const middle = join(lab.ws, 'middle');
    git(lab.ws, 'init', '-q', middle);
    writeFileSync(join(hop, '.git', 'objects', 'info', 'alternates'), `# comment\n"${join(middle, '.git', 'objects')}"\n`);
    writeFileSync(join(middle, '.git', 'objects', 'info', 'alternates'), `${join(v.dir, '.git', 'objects')}\n`);
    await assertRefused(lab, hop, /alternate objects .* outside the workspace roots/);

    const linked = join(lab.ws, 'objlink');
    git(lab.ws, 'init', '-q', linked);
    execFileSync('rm', ['-rf', join(linked, '.git', 'objects')]);
    symlinkSync(join(v.dir, '.git', 'objects'), join(linked, '.git', 'objects'));
    await assertRefused(lab, linked, /object store .* outside the workspace roots/);
  });
});

describe('branch_create cannot switch', () => {
  it('has no switchTo: switching goes through switch, which previews and is destructive (approval)', async () => {
    const lab = newLab();
    const h = await connect([lab.ws]);
    try {
      const { tools } = await h.client.listTools();
      const create = tools.find((t) => t.name === 'branch_create');
      assert.ok(create !== undefined && !('switchTo' in (create.inputSchema.properties ?? {})));
      const sw = tools.find((t) => t.name === 'switch');
      assert.equal(sw?.annotations?.destructiveHint, true);
      assert.deepEqual(sw?._meta, { 'mcpcp/preview': true });
      const before = git(lab.repo, 'rev-parse', 'HEAD').trim();
      write(lab.repo, 'a.txt', 'uncommitted\n');
      const r = await h.call('branch_create', { repo: lab.repo, name: 'elsewhere', startPoint: 'side', switchTo: true });
      assert.equal(git(lab.repo, 'rev-parse', 'HEAD').trim(), before, `HEAD moved: ${r.text}`);
      assert.equal(readFileSync(join(lab.repo, 'a.txt'), 'utf8'), 'uncommitted\n');
    } finally {
      await h.close();
    }
  });

  it('the restore preview shows the lines that would be lost, capped with a note', async () => {
    const lab = newLab();
    const h = await connect([lab.ws]);
    try {
      write(lab.repo, 'a.txt', 'one\nprecious local line\nthree\n');
      const r = await h.call('restore', { repo: lab.repo, paths: ['a.txt'], dryRun: true });
      assert.match(r.text, /^\+precious local line$/m);
      assert.match(r.text, /^-main$/m);
      write(lab.repo, 'big.txt', Array.from({ length: 50 }, (_, i) => `old ${i}`).join('\n'));
      git(lab.repo, 'add', 'big.txt');
      git(lab.repo, 'commit', '-qm', 'big');
      write(lab.repo, 'big.txt', Array.from({ length: 400 }, (_, i) => `new ${i}`).join('\n'));
      const big = await h.call('restore', { repo: lab.repo, paths: ['big.txt'], dryRun: true });
      assert.match(big.text, /\[truncated: \d+ more diff lines; narrow "paths"/);
      assert.ok(big.text.split('\n').length < 260);
      assert.equal(readFileSync(join(lab.repo, 'big.txt'), 'utf8').split('\n').length, 400, 'the preview changed the file');
    } finally {
      await h.close();
    }
  });
});
