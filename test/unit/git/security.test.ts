// The four CVE patterns of the reference mcp-server-git, symlink escapes, option smuggling and
// '..' in refs and paths: each is refused with a clear error, and each test proves that nothing
// happened (no file written, no repository created, nothing staged).
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanup, connect, git, makeRepo, tempDir, write, type Harness } from './fixture';

let base: string;
let ws: string;
let repo: string;
let outside: string;
let h: Harness;

const staged = (dir: string) => git(dir, 'diff', '--cached', '--name-only');

before(async () => {
  base = tempDir();
  ws = join(base, 'ws');
  repo = makeRepo(join(ws, 'app'), [{ 'a.txt': 'a\n', 'src/b.ts': 'b\n' }, { 'a.txt': 'a2\n' }]);
  outside = makeRepo(join(base, 'outside'), [{ 'secret.txt': 'top secret\n' }]);
  write(outside, 'loose.txt', 'not staged\n');
  h = await connect([ws]);
});
after(async () => {
  await h.close();
  cleanup(base);
});

describe('CVE pattern 1: creating a repository anywhere', () => {
  it('offers no init tool at all', async () => {
    const { tools } = await h.client.listTools();
    assert.ok(!tools.some((t) => /init|clone/.test(t.name)));
  });

  it('opens no directory outside the roots, and creates nothing there', async () => {
    const target = join(base, 'new-place');
    mkdirSync(target);
    for (const tool of ['repo_status', 'log', 'add', 'commit']) {
      const r = await h.call(tool, { repo: target, paths: ['x'], message: 'm' });
      assert.equal(r.isError, true, tool);
      assert.match(r.text, /outside the workspace roots[\s\S]*Allowed roots: /);
    }
    assert.ok(!existsSync(join(target, '.git')));
  });

  it('does not treat a plain folder inside a root as a repository, nor create one', async () => {
    const plain = join(ws, 'plain');
    mkdirSync(plain);
    const r = await h.call('repo_status', { repo: plain });
    assert.equal(r.isError, true);
    assert.match(r.text, /not inside a git repository within the workspace root/);
    assert.ok(!existsSync(join(plain, '.git')));
  });
});

describe('CVE pattern 2: arguments starting with "-" taken as options', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['diff', { from: '--output=PWN' }, /not starting with '-'/],
    ['diff', { paths: ['--output=PWN'] }, /not an option/],
    ['log', { to: '--output=PWN' }, /not starting with '-'/],
    ['show', { revision: '--output=PWN' }, /not starting with '-'/],
    ['add', { paths: ['--chmod=+x'] }, /not an option/],
    ['branch_create', { name: '--upload-pack=touch PWN' }, /valid ref name/],
    ['fetch', { remote: '--upload-pack=touch PWN' }, /configured remote/],
    ['push', { remote: '--receive-pack=touch PWN' }, /configured remote/],
    ['tag_create', { name: '-c' }, /valid ref name/],
    ['repo_status', { repo: '--git-dir=/etc' }, /not an option/],
    ['blame', { path: '--contents=/etc/passwd' }, /not an option/],
  ];
  for (const [tool, args, message] of cases) {
    it(`${tool} refuses ${JSON.stringify(args)}`, async () => {
      const r = await h.call(tool, { repo, ...args });
      assert.equal(r.isError, true);
      assert.match(r.text, message);
      assert.ok(!existsSync(join(repo, 'PWN')) && !existsSync(join(repo, '.git', 'PWN')), 'nothing written');
      assert.equal(staged(repo), '');
    });
  }

  it('passes free text as one argument: an --output= in author or grep writes nothing', async () => {
    const out = join(base, 'pwned-log');
    for (const field of ['author', 'grep', 'since']) {
      const r = await h.call('log', { repo, [field]: `--output=${out}` });
      assert.equal(r.isError, false, r.text);
    }
    assert.ok(!existsSync(out));
  });

  it('commits a message starting with "--" as a message', async () => {
    write(repo, 'm.txt', 'm\n');
    await h.call('add', { repo, paths: ['m.txt'] });
    const r = await h.call('commit', { repo, message: '--amend --no-verify' });
    assert.equal(r.isError, false, r.text);
    assert.equal(git(repo, 'log', '-1', '--format=%s').trim(), '--amend --no-verify');
  });

  it('refuses remotes given as URLs (no ext:: or file:// smuggling)', async () => {
    for (const remote of ['ext::sh -c touch% PWN', 'file:///etc', 'https://evil.example/x']) {
      const r = await h.call('fetch', { repo, remote });
      assert.equal(r.isError, true);
    }
    assert.ok(!existsSync(join(repo, 'PWN')));
  });
});

describe('CVE pattern 3: repository path not confined', () => {
  it('refuses absolute and relative paths that leave the roots', async () => {
    for (const target of [outside, '/etc', join(ws, '..', 'outside'), '../outside']) {
      const r = await h.call('log', { repo: target });
      assert.equal(r.isError, true, target);
    }
  });

  it('refuses a symlink inside the root that points at a repository outside it', async () => {
    symlinkSync(outside, join(ws, 'link-out'));
    const r = await h.call('log', { repo: join(ws, 'link-out') });
    assert.equal(r.isError, true);
    assert.match(r.text, /resolves to .*outside, which is outside the workspace roots/);
    const rel = await h.call('add', { repo: 'link-out', paths: ['loose.txt'] });
    assert.equal(rel.isError, true);
    assert.equal(staged(outside), '');
  });

  it('does not offer a repository that starts above the root', async () => {
    const sub = join(repo, 'src');
    const inner = await connect([sub]);
    try {
      const r = await inner.call('repo_status', {});
      assert.equal(r.isError, true);
      assert.match(r.text, /inside the repository .*app, which starts above it/);
      const list = await inner.call('repo_list');
      assert.match(list.text, /Not offered: the root .*src lies inside the repository/);
    } finally {
      await inner.close();
    }
  });
});

describe('CVE pattern 4: git_add ../../x staging files outside the repository', () => {
  it('refuses ../ paths at the schema, and nothing is staged anywhere', async () => {
    for (const p of ['../outside/loose.txt', '../../outside/loose.txt', 'src/../../outside/loose.txt']) {
      const r = await h.call('add', { repo, paths: [p] });
      assert.equal(r.isError, true);
      assert.match(r.text, /must not contain '\.\.'/);
    }
    assert.equal(staged(repo), '');
    assert.equal(staged(outside), '');
  });

  it('refuses absolute paths outside the repository', async () => {
    const r = await h.call('add', { repo, paths: [join(outside, 'loose.txt')] });
    assert.equal(r.isError, true);
    assert.match(r.text, /outside the repository/);
    assert.equal(staged(outside), '');
  });

  it('refuses a path through a symlinked folder that leaves the repository (symlink escape)', async () => {
    symlinkSync(outside, join(repo, 'escape'));
    const r = await h.call('add', { repo, paths: ['escape/loose.txt'] });
    assert.equal(r.isError, true);
    assert.match(r.text, /resolves through a symbolic link to .*outside.*loose\.txt, outside the repository/);
    const blame = await h.call('blame', { repo, path: 'escape/secret.txt' });
    assert.equal(blame.isError, true);
    const show = await h.call('diff', { repo, paths: ['escape'] });
    assert.equal(show.isError, true);
    assert.equal(staged(repo), '');
    assert.equal(staged(outside), '');
  });

  it('refuses paths into the git directory', async () => {
    const r = await h.call('add', { repo, paths: ['.git/config'] });
    assert.equal(r.isError, true);
    assert.match(r.text, /git directory/);
  });
});

describe('a repository config that moves the work tree', () => {
  it('ignores core.worktree pointing outside the roots: clean and status stay in the repository', async () => {
    const victim = join(base, 'victim');
    write(victim, 'precious.txt', 'do not delete\n');
    const r6 = makeRepo(join(ws, 'worktree-trick'));
    git(r6, 'config', 'core.worktree', victim);
    const status = await h.call('repo_status', { repo: r6 });
    assert.equal(status.isError, false, status.text);
    assert.doesNotMatch(status.text, /precious/);
    const cleaned = await h.call('clean', { repo: r6 });
    assert.doesNotMatch(cleaned.text, /precious/);
    assert.ok(existsSync(join(victim, 'precious.txt')));
  });
});

describe("refs with '..'", () => {
  for (const [tool, args] of [
    ['diff', { from: 'main..HEAD' }],
    ['log', { to: 'HEAD...main' }],
    ['branch_create', { name: 'a..b' }],
    ['switch', { branch: '../main' }],
    ['reset', { target: 'HEAD/../x' }],
  ] as const) {
    it(`${tool} refuses ${JSON.stringify(args)}`, async () => {
      const head = git(repo, 'rev-parse', 'HEAD');
      const r = await h.call(tool, { repo, ...args });
      assert.equal(r.isError, true);
      assert.match(r.text, /\.\./);
      assert.equal(git(repo, 'rev-parse', 'HEAD'), head);
    });
  }
});

describe("a repository's own config does not run programs on read-only tools", () => {
  it('puts back core.fsmonitor when it names a program: tools work and the program never runs', async () => {
    const r2 = makeRepo(join(ws, 'fsm'));
    const hook = join(r2, 'hook.sh');
    const ran = join(base, 'fsmonitor-ran');
    write(r2, 'hook.sh', `#!/bin/sh\ntouch '${ran}'\n`);
    chmodSync(hook, 0o755);
    git(r2, 'config', 'core.fsmonitor', hook);
    write(r2, 'README.md', 'changed\n');
    for (const tool of ['repo_status', 'diff']) {
      const r = await h.call(tool, { repo: r2 });
      assert.equal(r.isError, false, r.text);
      assert.match(r.text, /README\.md/);
    }
    assert.ok(!existsSync(ran));
  });

  it('sees an fsmonitor program set through an included config file, and changes to it', async () => {
    const r7 = makeRepo(join(ws, 'fsm-include'));
    const ran = join(base, 'fsmonitor-include-ran');
    write(r7, 'hook.sh', `#!/bin/sh\ntouch '${ran}'\n`);
    chmodSync(join(r7, 'hook.sh'), 0o755);
    const extra = join(base, 'extra.cfg');
    write(base, 'extra.cfg', `[core]\n\tfsmonitor = ${join(r7, 'hook.sh')}\n`);
    git(r7, 'config', 'include.path', extra);
    assert.equal((await h.call('repo_status', { repo: r7 })).isError, false);
    write(base, 'extra.cfg', '[core]\n\tfsmonitor = false\n');
    assert.equal((await h.call('repo_status', { repo: r7 })).isError, false, 'an included file is re-read every time');
    write(base, 'extra.cfg', `[core]\n\tfsmonitor = ${join(r7, 'hook.sh')}\n`);
    assert.equal((await h.call('diff', { repo: r7 })).isError, false);
    assert.ok(!existsSync(ran));
  });

  it('never runs an external diff or textconv program', async () => {
    const r3 = makeRepo(join(ws, 'extdiff'), [{ 'doc.bin': 'one\n', '.gitattributes': '*.bin diff=conv\n' }]);
    const ran = join(base, 'extdiff-ran');
    write(r3, 'tool.sh', `#!/bin/sh\ntouch '${ran}'\ncat "$1"\n`);
    chmodSync(join(r3, 'tool.sh'), 0o755);
    git(r3, 'config', 'diff.external', join(r3, 'tool.sh'));
    git(r3, 'config', 'diff.conv.textconv', join(r3, 'tool.sh'));
    write(r3, 'doc.bin', 'two\n');
    const d = await h.call('diff', { repo: r3, paths: ['doc.bin'] });
    assert.match(d.text, /-one\n\+two/);
    await h.call('show', { repo: r3 });
    await h.call('blame', { repo: r3, path: 'doc.bin' });
    await h.call('show', { repo: r3, path: 'doc.bin' });
    assert.ok(!existsSync(ran));
  });
});

describe('trust and roots', () => {
  it('opens nothing in an untrusted workspace', async () => {
    const u = await connect([ws], { trusted: false });
    try {
      for (const tool of ['repo_list', 'repo_status', 'log']) {
        const r = await u.call(tool, { repo });
        assert.equal(r.isError, true);
        assert.match(r.text, /workspace is not trusted/);
      }
    } finally {
      await u.close();
    }
  });

  it('offers no repository when the client has no roots capability, or no roots', async () => {
    const none = await connect(undefined);
    const empty = await connect([]);
    try {
      assert.match((await none.call('repo_list')).text, /no roots capability/);
      assert.match((await none.call('repo_status', { repo })).text, /no roots capability/);
      assert.match((await empty.call('repo_status', { repo })).text, /no workspace folder is open/);
    } finally {
      await none.close();
      await empty.close();
    }
  });

  it('follows roots/list_changed', async () => {
    const c = await connect([]);
    try {
      assert.equal((await c.call('repo_status', { repo })).isError, true);
      await c.setRoots([ws]);
      assert.equal((await c.call('repo_status', { repo })).isError, false);
      await c.setRoots([join(base, 'outside')]);
      assert.equal((await c.call('repo_status', { repo })).isError, true);
    } finally {
      await c.close();
    }
  });
});

describe('secrets in output', () => {
  it('redacts credentials in remote URLs and in git errors', async () => {
    const r4 = makeRepo(join(ws, 'creds'));
    git(r4, 'remote', 'add', 'origin', 'https://bob:hunter2token@127.0.0.1:9/x.git');
    const list = await h.call('remote_list', { repo: r4 });
    assert.ok(!list.text.includes('hunter2token'));
    assert.match(list.text, /https:\/\/\[REDACTED\]@127\.0\.0\.1:9\/x\.git/);
    const fetch = await h.call('fetch', { repo: r4 });
    assert.equal(fetch.isError, true);
    assert.ok(!fetch.text.includes('hunter2token'));
  });
});
