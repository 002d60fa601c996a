import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findExecutable, mergePathValues, readLoginShellPath, ShellPath } from '../../../src/core/adopt';
import { tempDir } from './helpers';

/** A home folder whose login profile prints noise and adds a folder holding an `npx`. */
function homeWithProfile(profile: string): { home: string; bin: string } {
  const home = tempDir('mcpcp-home-');
  const bin = join(home, '.nvm', 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'npx'), '#!/bin/sh\necho fake npx\n');
  chmodSync(join(bin, 'npx'), 0o755);
  writeFileSync(join(home, '.bash_profile'), profile.replace('$BIN', bin));
  return { home, bin };
}

describe('login shell PATH', () => {
  it('reads the PATH a login shell sets up, ignoring what rc files print', async () => {
    const { home, bin } = homeWithProfile('echo "Welcome back!"\nprintf "noise without newline"\nexport PATH="$BIN:$PATH"\necho "more noise"\n');
    const env = { HOME: home, PATH: '/usr/bin:/bin', SHELL: '/bin/bash' };
    const path = await readLoginShellPath({ env });
    assert.ok(path, 'a PATH was read');
    assert.equal(path.split(':')[0], bin);
    assert.ok(!path.includes('noise') && !path.includes('Welcome'));

    // Merged with the process PATH once; the process's folders first; then npx is found.
    const shellPath = new ShellPath({ env: { ...env, PATH: '/opt/minimal' } });
    const merged = await shellPath.path();
    assert.equal(merged.split(':')[0], '/opt/minimal');
    assert.ok(merged.split(':').includes(bin));
    assert.equal(await shellPath.path(), merged, 'the shell runs once');
    assert.equal(findExecutable('npx', '/opt/minimal'), undefined, 'the GUI PATH does not have it');
    assert.equal(findExecutable('npx', merged), join(bin, 'npx'));
    assert.equal((await shellPath.env({ HOME: home })).PATH, merged);
  });

  it('gives up after the timeout, on a failing shell and on Windows', async () => {
    const { home } = homeWithProfile('sleep 5\n');
    const started = Date.now();
    assert.equal(await readLoginShellPath({ env: { HOME: home, PATH: '/usr/bin:/bin', SHELL: '/bin/bash' }, timeoutMs: 300 }), undefined);
    assert.ok(Date.now() - started < 3_000);
    assert.equal(await readLoginShellPath({ env: { PATH: '/usr/bin:/bin' }, shell: '/nonexistent/shell' }), undefined);
    assert.equal(await readLoginShellPath({ platform: 'win32' }), undefined);
    // Without a login PATH the process PATH is used as it is.
    assert.equal(await new ShellPath({ env: { PATH: '/a:/b' }, shell: '/nonexistent/shell' }).path(), '/a:/b');
  });

  it('merges PATH values without duplicates or empty entries, and finds executables like a shell', () => {
    assert.equal(mergePathValues(['/a::/b', '/b:/c', undefined], ':'), '/a:/b:/c');
    assert.equal(findExecutable('sh', '/nonexistent:/bin:/usr/bin'), '/bin/sh');
    assert.equal(findExecutable('/bin/sh', ''), '/bin/sh');
    const dir = tempDir();
    writeFileSync(join(dir, 'not-executable'), 'x');
    assert.equal(findExecutable('not-executable', dir), undefined);
  });
});
