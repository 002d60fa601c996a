// Malicious repositories, built with real git. Each payload names programs the way an attacker who
// controls a repository's content can (its config, files included from it, attributes, hooks,
// remotes, alternates, PATH entries in the workspace); every program appends to a marker file, so
// a test sees exactly which one ran. `live` proves each payload works: plain git, run the way a
// user would, sets the markers off; then the suite shows the server's tools never do.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, makeRemote, makeRepo, write } from '../../unit/git/fixture';

export interface Lab {
  /** Temp directory holding everything. */
  readonly base: string;
  /** The workspace root the server is given. */
  readonly ws: string;
  /** The repository under attack (inside ws). */
  readonly repo: string;
  /** Its origin: a bare repository outside the roots. */
  readonly bare: string;
  /** Where payload programs write their markers. */
  readonly markers: string;
  /** A directory outside the roots (a victim's other repository, the attacker's scripts). */
  readonly outside: string;
  /** An http remote that always asks for credentials, and how many requests it saw. */
  readonly http: { url: string; requests: () => number };
}

/** Writes an executable script (outside the roots) that records that it ran as marker `id`, and returns its path. */
export function evil(lab: Lab, id: string): string {
  const dir = join(lab.outside, 'evil');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${id}.sh`);
  writeFileSync(path, `#!/bin/sh\necho "$0 $*" >> '${join(lab.markers, id)}'\ncase "$1" in /*) [ -f "$1" ] && exec cat "$1";; esac\nexit 0\n`);
  chmodSync(path, 0o755);
  return path;
}

/** Which markers exist. */
export function markersSet(lab: Lab): string[] {
  return existsSync(lab.markers) ? readdirSync(lab.markers).sort() : [];
}

export function clearMarkers(lab: Lab): void {
  rmSync(lab.markers, { recursive: true, force: true });
  mkdirSync(lab.markers, { recursive: true });
}

/** Runs plain git as a user would (no global config), ignoring its exit code: only the markers matter. */
export async function userGit(cwd: string, args: readonly string[], env: Record<string, string> = {}): Promise<void> {
  try {
    await promisify(execFile)('git', [...args], {
      cwd,
      env: {
        ...process.env,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_AUTHOR_NAME: 'Ada Tester',
        GIT_AUTHOR_EMAIL: 'ada@example.com',
        GIT_COMMITTER_NAME: 'Ada Tester',
        GIT_COMMITTER_EMAIL: 'ada@example.com',
        GIT_TERMINAL_PROMPT: '0',
        ...env,
      },
      timeout: 20_000,
    });
  } catch {
    // git failing after the payload ran is expected for most payloads.
  }
}

/** The base repository: a.txt with three lines, a `side` branch that changes a.txt differently, origin pushed. */
export function buildLab(base: string, http: Lab['http']): Lab {
  const ws = join(base, 'ws');
  const outside = join(base, 'outside');
  const markers = join(base, 'markers');
  mkdirSync(outside, { recursive: true });
  mkdirSync(markers, { recursive: true });
  const repo = makeRepo(join(ws, 'app'), [{ 'a.txt': 'one\ntwo\nthree\n', 'b.txt': 'b\n' }]);
  git(repo, 'switch', '-q', '-c', 'side');
  write(repo, 'a.txt', 'one\nside\nthree\n');
  git(repo, 'commit', '-qam', 'side changes a');
  git(repo, 'switch', '-q', 'main');
  write(repo, 'a.txt', 'one\nmain\nthree\n');
  git(repo, 'commit', '-qam', 'main changes a');
  const bare = makeRemote(base, repo);
  git(repo, 'push', '-q', 'origin', 'side');
  git(repo, 'remote', 'add', 'web', `${http.url}/repo.git`);
  return { base, ws, repo, bare, markers, outside, http };
}

export interface Payload {
  readonly id: string;
  /** What an attacker gets if it works. */
  readonly what: string;
  readonly build: (lab: Lab) => void;
  /** Plain git commands that set the payload off (each marker listed must appear). */
  readonly live: (lab: Lab) => Promise<void>;
  readonly liveMarkers: readonly string[];
  /** Server PATH (default: the test's PATH). */
  readonly serverPath?: (lab: Lab) => string;
  /** When the server must refuse the repository outright (confinement): the message. */
  readonly refusedWith?: RegExp;
}

const cfg = (lab: Lab, ...pairs: [string, string][]) => {
  for (const [k, v] of pairs) git(lab.repo, 'config', '--add', k, v);
};

/** A signed-looking commit on top of main (git asks gpg.program to verify it when showing signatures). */
function addSignedCommit(lab: Lab): void {
  const tree = git(lab.repo, 'rev-parse', 'HEAD^{tree}').trim();
  const parent = git(lab.repo, 'rev-parse', 'HEAD').trim();
  const sig = ['-----BEGIN PGP SIGNATURE-----', '', 'iQEzBAABCAAdFiEEfake', '=abcd', '-----END PGP SIGNATURE-----'];
  const body = [
    `tree ${tree}`,
    `parent ${parent}`,
    'author Ada Tester <ada@example.com> 1700000000 +0000',
    'committer Ada Tester <ada@example.com> 1700000000 +0000',
    `gpgsig ${sig.join('\n ')}`,
    '',
    'signed commit',
    '',
  ].join('\n');
  const file = join(lab.outside, 'signed-commit');
  writeFileSync(file, body);
  const sha = git(lab.repo, 'hash-object', '-t', 'commit', '-w', file).trim();
  git(lab.repo, 'update-ref', 'refs/heads/main', sha);
}

export const PAYLOADS: readonly Payload[] = [
  {
    id: 'drivers',
    what: 'clean/smudge/process filters, textconv, external diff and merge drivers selected by .gitattributes',
    build(lab) {
      write(lab.repo, '.gitattributes', '*.txt filter=evil diff=evil merge=evil\n');
      git(lab.repo, 'add', '.gitattributes');
      git(lab.repo, 'commit', '-qm', 'attributes');
      cfg(
        lab,
        ['filter.evil.clean', evil(lab, 'filter-clean')],
        ['filter.evil.smudge', evil(lab, 'filter-smudge')],
        ['filter.evil.required', 'true'],
        ['diff.evil.textconv', evil(lab, 'textconv')],
        ['diff.evil.command', evil(lab, 'diff-command')],
        ['diff.external', evil(lab, 'diff-external')],
        ['merge.evil.driver', `${evil(lab, 'merge-driver')} %O %A %B`],
      );
    },
    async live(lab) {
      write(lab.repo, 'a.txt', 'one\nlocal\nthree\n');
      await userGit(lab.repo, ['diff']);
      await userGit(lab.repo, ['log', '-p', '-1', '--', 'a.txt']);
      await userGit(lab.repo, ['stash']);
      await userGit(lab.repo, ['merge', '--no-edit', 'side']);
      await userGit(lab.repo, ['merge', '--abort']);
      await userGit(lab.repo, ['checkout', '-f', 'side']);
      await userGit(lab.repo, ['checkout', '-f', 'main']);
    },
    liveMarkers: ['diff-command', 'filter-clean', 'filter-smudge', 'merge-driver'],
  },
  {
    id: 'textconv',
    what: 'textconv on log, show and blame',
    build(lab) {
      write(lab.repo, '.gitattributes', '*.txt diff=conv\n');
      git(lab.repo, 'add', '.gitattributes');
      git(lab.repo, 'commit', '-qm', 'attributes');
      cfg(lab, ['diff.conv.textconv', evil(lab, 'textconv')]);
    },
    async live(lab) {
      await userGit(lab.repo, ['log', '-p', '-3']);
      await userGit(lab.repo, ['blame', 'a.txt']);
    },
    liveMarkers: ['textconv'],
  },
  {
    id: 'info-attributes',
    what: 'a filter selected from $GIT_DIR/info/attributes (not visible in the work tree)',
    build(lab) {
      write(join(lab.repo, '.git'), 'info/attributes', '* filter=hidden\n');
      cfg(lab, ['filter.hidden.clean', evil(lab, 'info-attributes-clean')], ['filter.hidden.smudge', evil(lab, 'info-attributes-smudge')]);
    },
    async live(lab) {
      write(lab.repo, 'a.txt', 'one\nlocal\nthree\n');
      await userGit(lab.repo, ['add', 'a.txt']);
      await userGit(lab.repo, ['checkout', '-f', 'side']);
      await userGit(lab.repo, ['checkout', '-f', 'main']);
    },
    liveMarkers: ['info-attributes-clean', 'info-attributes-smudge'],
  },
  {
    id: 'signatures',
    what: 'gpg.program (log.showSignature), gpg.ssh.program and defaultKeyCommand, commit and tag signing with the repository\'s program',
    build(lab) {
      addSignedCommit(lab);
      cfg(
        lab,
        ['log.showSignature', 'true'],
        ['gpg.program', evil(lab, 'gpg-program')],
        ['gpg.openpgp.program', evil(lab, 'gpg-openpgp-program')],
        ['gpg.x509.program', evil(lab, 'gpg-x509-program')],
        ['gpg.ssh.program', evil(lab, 'gpg-ssh-program')],
        ['gpg.ssh.defaultKeyCommand', evil(lab, 'gpg-ssh-defaultkeycommand')],
        ['commit.gpgSign', 'true'],
        ['tag.gpgSign', 'true'],
      );
    },
    async live(lab) {
      await userGit(lab.repo, ['log', '-1']);
      await userGit(lab.repo, ['show', 'HEAD']);
    },
    liveMarkers: ['gpg-openpgp-program'],
  },
  {
    id: 'ssh-signing',
    what: 'ssh signing: gpg.format=ssh runs gpg.ssh.defaultKeyCommand and gpg.ssh.program on commit',
    build(lab) {
      cfg(lab, ['gpg.format', 'ssh'], ['gpg.ssh.program', evil(lab, 'ssh-program')], ['gpg.ssh.defaultKeyCommand', evil(lab, 'ssh-defaultkeycommand')], ['commit.gpgSign', 'true']);
    },
    async live(lab) {
      write(lab.repo, 'b.txt', 'changed\n');
      await userGit(lab.repo, ['commit', '-qam', 'x']);
    },
    liveMarkers: ['ssh-defaultkeycommand'],
  },
  {
    id: 'fsmonitor',
    what: 'core.fsmonitor on status, diff, add, commit',
    build(lab) {
      cfg(lab, ['core.fsmonitor', evil(lab, 'fsmonitor')]);
    },
    async live(lab) {
      await userGit(lab.repo, ['status']);
    },
    liveMarkers: ['fsmonitor'],
  },
  {
    id: 'includes',
    what: 'program keys hidden in files the repository config includes (include.path, includeIf gitdir/onbranch)',
    build(lab) {
      write(lab.repo, '.config/inc', `[core]\n\tfsmonitor = ${evil(lab, 'include-fsmonitor')}\n[diff "inc"]\n\ttextconv = ${evil(lab, 'include-textconv')}\n`);
      write(lab.outside, 'onbranch.cfg', `[filter "inc"]\n\tclean = ${evil(lab, 'includeif-clean')}\n\tsmudge = ${evil(lab, 'includeif-smudge')}\n`);
      write(lab.repo, '.gitattributes', '*.txt diff=inc filter=inc\n');
      git(lab.repo, 'add', '.gitattributes');
      git(lab.repo, 'commit', '-qm', 'attributes');
      cfg(lab, ['include.path', '../.config/inc'], ['includeIf.onbranch:main.path', join(lab.outside, 'onbranch.cfg')], [`includeIf.gitdir:${lab.repo}/.git.path`, join(lab.outside, 'onbranch.cfg')]);
    },
    async live(lab) {
      write(lab.repo, 'a.txt', 'one\nlocal\nthree\n');
      await userGit(lab.repo, ['status']);
      await userGit(lab.repo, ['log', '-p', '-2']);
    },
    liveMarkers: ['include-fsmonitor', 'include-textconv', 'includeif-smudge'],
  },
  {
    id: 'hooks',
    what: 'hooks in .git/hooks and in a core.hooksPath outside the roots, on commit, switch, merge, push, gc, index changes',
    build(lab) {
      const names = ['pre-commit', 'prepare-commit-msg', 'commit-msg', 'post-commit', 'post-checkout', 'post-merge', 'pre-merge-commit', 'pre-push', 'reference-transaction', 'post-rewrite', 'pre-auto-gc', 'post-index-change', 'pre-rebase'];
      const outsideHooks = join(lab.outside, 'hooks');
      mkdirSync(outsideHooks, { recursive: true });
      for (const name of names) {
        const script = evil(lab, `hook-${name}`);
        writeFileSync(join(lab.repo, '.git', 'hooks', name), `#!/bin/sh\nexec '${script}' "$@"\n`);
        chmodSync(join(lab.repo, '.git', 'hooks', name), 0o755);
        writeFileSync(join(outsideHooks, name), `#!/bin/sh\nexec '${evil(lab, `hookspath-${name}`)}' "$@"\n`);
        chmodSync(join(outsideHooks, name), 0o755);
      }
      cfg(lab, ['gc.auto', '1'], ['gc.autoDetach', 'false']);
    },
    async live(lab) {
      write(lab.repo, 'b.txt', 'changed\n');
      await userGit(lab.repo, ['commit', '-qam', 'x']);
      git(lab.repo, 'config', 'core.hooksPath', join(lab.outside, 'hooks'));
      write(lab.repo, 'b.txt', 'changed again\n');
      await userGit(lab.repo, ['commit', '-qam', 'y']);
    },
    liveMarkers: ['hook-pre-commit', 'hookspath-pre-commit', 'hookspath-post-commit'],
  },
  {
    id: 'transport-programs',
    what: 'core.sshCommand, core.gitProxy, remote uploadpack/receivepack, remote.<name>.vcs on fetch, pull and push',
    build(lab) {
      git(lab.repo, 'remote', 'add', 'sshy', 'ssh://127.0.0.1:1/repo.git');
      git(lab.repo, 'remote', 'add', 'gity', 'git://127.0.0.1:1/repo.git');
      git(lab.repo, 'remote', 'add', 'helper', 'somewhere');
      cfg(
        lab,
        ['core.sshCommand', evil(lab, 'ssh-command')],
        ['core.gitProxy', evil(lab, 'git-proxy')],
        ['remote.origin.uploadpack', evil(lab, 'upload-pack')],
        ['remote.origin.receivepack', evil(lab, 'receive-pack')],
        [`remote.${lab.bare}.receivepack`, evil(lab, 'receive-pack-by-url')],
        ['remote.helper.vcs', 'evil'],
      );
      const bin = join(lab.ws, 'bin');
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, 'git-remote-evil'), `#!/bin/sh\nexec '${evil(lab, 'remote-helper')}' "$@"\n`);
      chmodSync(join(bin, 'git-remote-evil'), 0o755);
    },
    async live(lab) {
      await userGit(lab.repo, ['fetch', 'origin']);
      await userGit(lab.repo, ['push', 'origin', 'main']);
      await userGit(lab.repo, ['fetch', 'sshy']);
      await userGit(lab.repo, ['fetch', 'gity']);
      await userGit(lab.repo, ['fetch', 'helper'], { PATH: `${join(lab.ws, 'bin')}:${process.env['PATH'] ?? ''}` });
    },
    liveMarkers: ['git-proxy', 'receive-pack', 'remote-helper', 'ssh-command', 'upload-pack'],
    serverPath: (lab) => `${join(lab.ws, 'bin')}:${process.env['PATH'] ?? ''}`,
  },
  {
    id: 'credentials',
    what: 'credential helpers and askpass when a remote asks for credentials',
    build(lab) {
      cfg(lab, ['credential.helper', evil(lab, 'credential-helper')], [`credential.${lab.http.url}.helper`, evil(lab, 'credential-url-helper')], ['core.askPass', evil(lab, 'askpass')]);
      git(lab.repo, 'config', 'branch.main.remote', 'web');
      git(lab.repo, 'config', 'branch.main.merge', 'refs/heads/main');
    },
    async live(lab) {
      await userGit(lab.repo, ['fetch', 'web']);
    },
    liveMarkers: ['credential-helper', 'credential-url-helper'],
  },
  {
    id: 'ext-protocol',
    what: 'ext:: remote URLs with protocol.allow=always (and protocol.ext.allow)',
    build(lab) {
      const script = evil(lab, 'ext-transport');
      git(lab.repo, 'remote', 'set-url', 'origin', `ext::${script} %S`);
      cfg(lab, ['protocol.allow', 'always'], ['protocol.ext.allow', 'always']);
    },
    async live(lab) {
      await userGit(lab.repo, ['fetch', 'origin']);
    },
    liveMarkers: ['ext-transport'],
  },
  {
    id: 'url-rewrite',
    what: 'url.<base>.insteadOf / pushInsteadOf in the repository config send fetch and push to an ext:: program or to a repository with hooks',
    build(lab) {
      const script = evil(lab, 'insteadof-ext');
      cfg(lab, [`url.ext::${script} %S #.insteadOf`, lab.bare], ['protocol.ext.allow', 'always']);
      const trap = join(lab.outside, 'trap.git');
      git(lab.outside, 'init', '-q', '--bare', trap);
      writeFileSync(join(trap, 'hooks', 'pre-receive'), `#!/bin/sh\nexec '${evil(lab, 'pushinsteadof-hook')}'\n`);
      chmodSync(join(trap, 'hooks', 'pre-receive'), 0o755);
      cfg(lab, [`url.${trap}.pushInsteadOf`, lab.bare]);
    },
    async live(lab) {
      await userGit(lab.repo, ['fetch', 'origin']);
      await userGit(lab.repo, ['push', 'origin', 'main:refs/heads/x']);
    },
    liveMarkers: ['insteadof-ext', 'pushinsteadof-hook'],
    refusedWith: /rewrites the URL/,
  },
  {
    id: 'local-remote-hooks',
    what: "a local-path remote (pushurl) whose own hooks and config run on push",
    build(lab) {
      const trap = join(lab.outside, 'trap.git');
      git(lab.outside, 'init', '-q', '--bare', trap);
      for (const name of ['pre-receive', 'update', 'post-receive', 'post-update', 'reference-transaction', 'push-to-checkout']) {
        writeFileSync(join(trap, 'hooks', name), `#!/bin/sh\nexec '${evil(lab, `target-${name}`)}' "$@"\n`);
        chmodSync(join(trap, 'hooks', name), 0o755);
      }
      git(trap, 'config', 'receive.autogc', 'true');
      git(trap, 'config', 'gc.auto', '1');
      git(lab.repo, 'remote', 'set-url', '--push', 'origin', trap);
    },
    async live(lab) {
      await userGit(lab.repo, ['push', 'origin', 'main']);
    },
    liveMarkers: ['target-pre-receive', 'target-post-receive'],
  },
  {
    id: 'editors-pagers',
    what: 'core.editor, sequence.editor, core.pager and the merge/diff tools',
    build(lab) {
      cfg(
        lab,
        ['core.editor', evil(lab, 'editor')],
        ['sequence.editor', evil(lab, 'sequence-editor')],
        ['core.pager', evil(lab, 'pager')],
        ['mergetool.evil.cmd', evil(lab, 'mergetool')],
        ['merge.tool', 'evil'],
        ['difftool.evil.cmd', evil(lab, 'difftool')],
        ['diff.tool', 'evil'],
        ['core.alternateRefsCommand', evil(lab, 'alternate-refs')],
      );
    },
    async live(lab) {
      await userGit(lab.repo, ['commit', '--amend']);
    },
    liveMarkers: ['editor'],
  },
  {
    id: 'submodules',
    what: 'submodule.<name>.update=!cmd, submodule.recurse, and a submodule whose own config names programs',
    build(lab) {
      const sub = makeRepo(join(lab.outside, 'sub-src'), [{ 's.txt': 's\n' }]);
      git(lab.repo, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', sub, 'mod');
      git(lab.repo, 'commit', '-qm', 'add submodule');
      // (`update = !cmd` in .gitmodules itself makes git 2.39 die on every command: git refuses it.)
      const modDir = join(lab.repo, '.git', 'modules', 'mod');
      git(modDir, 'config', 'core.fsmonitor', evil(lab, 'submodule-fsmonitor'));
      write(join(lab.repo, 'mod'), 's.txt', 'dirty\n');
      cfg(lab, ['submodule.recurse', 'true'], ['status.submoduleSummary', 'true'], ['submodule.mod.update', `!${evil(lab, 'submodule-config-update')}`]);
    },
    async live(lab) {
      await userGit(lab.repo, ['status']);
      await userGit(join(lab.repo, 'mod'), ['commit', '-qam', 'moved']);
      await userGit(lab.repo, ['-c', 'protocol.file.allow=always', 'submodule', 'update']);
    },
    liveMarkers: ['submodule-config-update', 'submodule-fsmonitor'],
  },
  {
    id: 'path-in-workspace',
    what: 'programs on PATH inside the workspace shadowing cat, ssh, gpg and git-remote helpers the neutral values rely on',
    build(lab) {
      const bin = join(lab.ws, 'bin');
      mkdirSync(bin, { recursive: true });
      for (const name of ['cat', 'ssh', 'gpg', 'gpgsm', 'ssh-keygen', 'less', 'git-receive-pack', 'git-upload-pack']) {
        writeFileSync(join(bin, name), `#!/bin/sh\nexec '${evil(lab, `path-${name}`)}' "$@"\n`);
        chmodSync(join(bin, name), 0o755);
      }
      write(lab.repo, '.gitattributes', '*.txt diff=conv\n');
      git(lab.repo, 'add', '.gitattributes');
      git(lab.repo, 'commit', '-qm', 'attributes');
      git(lab.repo, 'remote', 'add', 'sshy', 'ssh://127.0.0.1:1/repo.git');
      cfg(lab, ['diff.conv.textconv', 'definitely-not-a-program'], ['log.showSignature', 'true']);
      addSignedCommit(lab);
    },
    async live(lab) {
      await userGit(lab.repo, ['fetch', 'sshy'], { PATH: `${join(lab.ws, 'bin')}:${process.env['PATH'] ?? ''}` });
      await userGit(lab.repo, ['log', '-1'], { PATH: `${join(lab.ws, 'bin')}:${process.env['PATH'] ?? ''}` });
    },
    liveMarkers: ['path-gpg', 'path-ssh'],
    serverPath: (lab) => `${join(lab.ws, 'bin')}::.:bin:${process.env['PATH'] ?? ''}`,
  },
];
