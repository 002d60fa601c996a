// scripts/apt.sh waits for a busy package manager instead of failing. A real process (python3,
// fcntl.lockf, as apt and dpkg lock) holds the locks for a few seconds:
// - the machine's dpkg locks, while the helper runs an apt-get that needs them and changes nothing
//   (`install --no-upgrade` of a package that is installed); a control run without the helper's
//   timeout fails on the same lock, so the lock is real;
// - the package lists lock, which `apt-get update` does not wait for by itself, in a private lists
//   folder with no sources (so the machine's lists are not touched), with and without enough time.
// The holder lets go by itself after its time, so a failed or killed test does not leave apt locked.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { REPO_ROOT } from '../../helpers/fixture-plane';

const APT = join(REPO_ROOT, 'scripts/apt.sh');
const HOLD = `
import fcntl, os, sys, time
fds = []
for path in sys.argv[2:]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    fcntl.lockf(fd, fcntl.LOCK_EX)
    fds.append(fd)
print("locked", flush=True)
time.sleep(float(sys.argv[1]))
`;

function unavailable(): string | false {
  if (process.platform !== 'linux') return 'Linux only';
  if (spawnSync('apt-get', ['--version']).status !== 0) return 'no apt-get';
  if (spawnSync('python3', ['--version']).status !== 0) return 'no python3';
  if (process.getuid?.() !== 0) return 'needs root (the dpkg locks are root-only)';
  if (spawnSync('dpkg-query', ['-W', '-f=${db:Status-Status}', 'git'], { encoding: 'utf8' }).stdout !== 'installed') return 'git is not installed from a Debian package';
  return false;
}

const holders: ChildProcess[] = [];

/** Holds `paths` (fcntl write locks) for `seconds`; resolves once they are held. */
async function holdLocks(seconds: number, paths: string[]): Promise<ChildProcess> {
  const child = spawn('python3', ['-c', HOLD, String(seconds), ...paths], { stdio: ['ignore', 'pipe', 'inherit'] });
  holders.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`lock holder exited (${code}) before holding ${paths.join(', ')}`)));
  });
  assert.equal(line, 'locked');
  return child;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string; seconds: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('bash', [APT, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stderr, seconds: (Date.now() - started) / 1000 }));
  });
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

describe('scripts/apt.sh waits for a busy apt', { skip: unavailable() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcpcp-apt-'));
  after(() => {
    for (const h of holders) if (!exited(h)) h.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('an apt-get that needs the dpkg lock waits while another process holds it, then succeeds', async () => {
    const holder = await holdLocks(5, ['/var/lib/dpkg/lock-frontend', '/var/lib/dpkg/lock']);
    try {
      const control = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=0', 'install', '-y', '--no-upgrade', 'git'], { encoding: 'utf8' });
      assert.notEqual(control.status, 0, 'apt-get without a timeout should fail while the lock is held');
      assert.match(control.stderr, /Could not get lock \/var\/lib\/dpkg\/lock-frontend/);

      const r = await run(['apt-get', 'install', '-y', '--no-upgrade', '--no-install-recommends', 'git']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Waiting for cache lock: Could not get lock \/var\/lib\/dpkg\/lock-frontend/);
      assert.match(r.stderr, /Skipping git, it is already installed/);
      assert.ok(exited(holder), 'the helper finished only after the holder let go');
      assert.ok(r.seconds >= 2, `waited ${r.seconds}s`);
    } finally {
      if (!exited(holder)) holder.kill('SIGKILL');
    }
  });

  // A private lists folder and no sources: `update` takes the lists lock and does nothing else.
  function privateUpdate(): string[] {
    const root = mkdtempSync(join(dir, 'lists-'));
    mkdirSync(join(root, 'lists/partial'), { recursive: true });
    mkdirSync(join(root, 'sources.list.d'));
    writeFileSync(join(root, 'sources.list'), '');
    return [
      'apt-get',
      '-o', `Dir::State::Lists=${join(root, 'lists')}`,
      '-o', `Dir::Etc::sourcelist=${join(root, 'sources.list')}`,
      '-o', `Dir::Etc::sourceparts=${join(root, 'sources.list.d')}`,
      '-o', 'Dir::Cache::pkgcache=',
      '-o', 'Dir::Cache::srcpkgcache=',
      'update',
    ];
  }
  const listsLock = (args: string[]) => join(args[2]!.slice('Dir::State::Lists='.length), 'lock');

  it('apt-get update waits for the package lists lock (apt itself does not)', async () => {
    const args = privateUpdate();
    const holder = await holdLocks(4, [listsLock(args)]);
    const control = spawnSync('apt-get', args.slice(1), { encoding: 'utf8' });
    assert.notEqual(control.status, 0, 'plain apt-get update should fail while the lists lock is held');
    const r = await run(args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\[apt\] apt is busy \(a lock is held\): waiting/);
    assert.ok(exited(holder), 'the helper finished only after the holder let go');
  });

  it('gives up after MCPCP_APT_LOCK_TIMEOUT seconds with apt-get\'s error', async () => {
    const args = privateUpdate();
    const holder = await holdLocks(8, [listsLock(args)]);
    const r = await run(args, { MCPCP_APT_LOCK_TIMEOUT: '2' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Could not get lock/);
    assert.ok(r.seconds < 7, `gave up after ${r.seconds}s`);
    assert.ok(!exited(holder), 'the lock was still held when the helper gave up');
    holder.kill('SIGKILL');
  });

  it('install does nothing (and needs no lock) when every package is installed', async () => {
    const holder = await holdLocks(4, ['/var/lib/dpkg/lock-frontend', '/var/lib/dpkg/lock']);
    try {
      const r = await run(['install', 'git', 'python3']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.ok(!exited(holder), 'returned while the lock was still held');
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
