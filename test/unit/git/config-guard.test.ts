// The config guard's decisions on their own: which keys are put back, to what, and how remote URLs
// resolve. The hostile-repository suite shows the same against real git end to end.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NEUTRAL_MERGE_DRIVER, applyRewrite, neutralise, parseConfigList, rewriteRules, type ConfigEntry } from '../../../src/servers/git/config-guard';
import { isLocalUrl, redactUrl } from '../../../src/servers/git/transport';

const local = (key: string, value: string): ConfigEntry => ({ scope: 'local', key, value });
const global = (key: string, value: string): ConfigEntry => ({ scope: 'global', key, value });
const get = (overrides: readonly (readonly [string, string])[], key: string) => overrides.filter(([k]) => k === key).map(([, v]) => v);

describe('neutralise', () => {
  it("puts back the user's own value, else a neutral one, for keys the repository sets", () => {
    const { overrides, neutralisedKeys } = neutralise(
      [
        global('gpg.program', '/usr/local/bin/my-gpg'),
        local('gpg.program', '/evil'),
        local('core.sshCommand', '/evil'),
        local('merge.x.driver', '/evil %A'),
        local('diff.y.textconv', '/evil'),
        local('log.showsignature', 'true'),
        local('core.editor', '/evil'),
      ],
      '/hooks/none',
    );
    assert.deepEqual(get(overrides, 'gpg.program'), ['/usr/local/bin/my-gpg']);
    assert.deepEqual(get(overrides, 'core.sshCommand'), ['ssh']);
    assert.deepEqual(get(overrides, 'merge.x.driver'), [NEUTRAL_MERGE_DRIVER]);
    assert.deepEqual(get(overrides, 'diff.y.textconv'), ['cat']);
    assert.deepEqual(get(overrides, 'log.showsignature'), ['false']);
    assert.deepEqual(get(overrides, 'core.editor'), [':']);
    assert.deepEqual(get(overrides, 'core.hooksPath'), ['/hooks/none']);
    assert.deepEqual(get(overrides, 'protocol.ext.allow'), ['never']);
    assert.equal(neutralisedKeys.length, 6);
  });

  it('keeps subsection case (driver and remote names are case-sensitive)', () => {
    const { overrides } = neutralise([local('filter.LFS-Custom.clean', '/evil')], '/h');
    assert.deepEqual(get(overrides, 'filter.LFS-Custom.clean'), ['']);
    assert.deepEqual(get(overrides, 'filter.LFS-Custom.required'), ['false']);
    assert.deepEqual(get(overrides, 'filter.LFS-Custom.process'), [], 'an empty process would disable the user\'s clean/smudge');
  });

  it('clears a credential helper list and adds the user\'s helpers back', () => {
    const { overrides } = neutralise([global('credential.helper', 'cache'), global('credential.helper', 'store'), local('credential.helper', '/evil')], '/h');
    assert.deepEqual(get(overrides, 'credential.helper'), ['', 'cache', 'store']);
  });

  it('restores git\'s protocol defaults when the repository sets protocol.allow', () => {
    const { overrides } = neutralise([local('protocol.allow', 'always')], '/h');
    assert.deepEqual(get(overrides, 'protocol.allow'), ['user']);
    assert.deepEqual(get(overrides, 'protocol.https.allow'), ['always']);
    assert.deepEqual(get(overrides, 'protocol.file.allow'), ['user']);
    assert.deepEqual(get(overrides, 'protocol.ext.allow'), ['never']);
  });

  it('closes git:// when the repository sets core.gitProxy (first match wins, it cannot be overridden)', () => {
    assert.deepEqual(get(neutralise([local('core.gitproxy', '/evil')], '/h').overrides, 'protocol.git.allow'), ['never']);
    assert.deepEqual(get(neutralise([global('core.gitproxy', '/mine')], '/h').overrides, 'protocol.git.allow'), []);
  });

  it("always sets core.fsmonitor (the user's value, else false), for submodules the guard did not read", () => {
    assert.deepEqual(get(neutralise([], '/h').overrides, 'core.fsmonitor'), ['false']);
    assert.deepEqual(get(neutralise([global('core.fsmonitor', 'true')], '/h').overrides, 'core.fsmonitor'), ['true']);
  });

  it('parses git config --list --show-scope -z, values with newlines included', () => {
    const entries = parseConfigList('global\0user.name\nAda\0local\0alias.x\nline1\nline2\0');
    assert.deepEqual(entries, [global('user.name', 'Ada'), local('alias.x', 'line1\nline2')]);
  });
});

describe('remote URLs', () => {
  it("rewrites like git: longest prefix, first among equals", () => {
    const rules = rewriteRules([global('url.https://a/.insteadof', 'gh:'), global('url.https://b/.insteadof', 'gh:'), global('url.https://c/.insteadof', 'gh:x/')]);
    assert.equal(applyRewrite('gh:repo', rules), 'https://a/repo');
    assert.equal(applyRewrite('gh:x/repo', rules), 'https://c/repo');
    assert.equal(applyRewrite('ssh://h/r', rules), 'ssh://h/r');
  });

  it('tells local paths from URLs and scp-like addresses', () => {
    for (const url of ['/srv/r.git', '../r.git', 'file:///srv/r.git', 'r.git', './a:b']) assert.equal(isLocalUrl(url), true, url);
    for (const url of ['https://h/r', 'git@h:r.git', 'h:r', 'ssh://h/r', 'ext::sh -c x']) assert.equal(isLocalUrl(url), false, url);
  });

  it('redacts credentials', () => {
    assert.equal(redactUrl('https://user:tok@h/r'), 'https://***@h/r');
    assert.equal(redactUrl('https://ghp_token@h/r'), 'https://***@h/r');
    assert.equal(redactUrl('ssh://git:pw@h/r'), 'ssh://git:***@h/r');
    assert.equal(redactUrl('ssh://git@h/r'), 'ssh://git@h/r');
  });
});
