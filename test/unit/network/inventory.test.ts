// The inventory file: defaults through groups, references checked, precise errors with line and
// field, and secrets only by reference.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ControlPlaneError } from '../../../src/core/errors';
import { parseInventory, resolveSecret, secretEnvName, secretReferences } from '../../../src/servers/network/inventory';

const GOOD = `version: 1
defaults:
  port: 2222
credentials:
  lab:
    username: admin
    password: \${secret:lab-pass}
    enable: \${secret:lab.enable}
jumpHosts:
  bastion:
    host: 10.0.0.5
    credential: lab
groups:
  core:
    platform: cisco_xe
    credential: lab
    tags: [prod]
    jumpHost: bastion
  dc:
    platform: cisco_nxos
    legacyAlgorithms: true
devices:
  - name: r1
    host: 10.0.0.1
    groups: [core, dc]
    tags: [edge]
  - name: j1
    host: j1.example
    port: 22
    platform: juniper_junos
    credential: lab
`;

function fails(text: string, re: RegExp): void {
  assert.throws(
    () => parseInventory(text, '/ws/.mcpcp/inventory.yaml'),
    (err: unknown) => err instanceof ControlPlaneError && err.code === 'INVENTORY_INVALID' && re.test(err.message),
    text,
  );
}

describe('inventory', () => {
  it('applies device, then group (in order), then global defaults', () => {
    const inv = parseInventory(GOOD, 'inv.yaml');
    const [r1, j1] = inv.devices;
    assert.deepEqual(r1, {
      name: 'r1', host: '10.0.0.1', port: 2222, platform: 'cisco_xe', groups: ['core', 'dc'], tags: ['prod', 'edge'],
      credential: 'lab', jumpHost: 'bastion', legacyAlgorithms: true, timeoutSeconds: 30,
    });
    assert.equal(j1?.port, 22);
    assert.equal(j1?.platform, 'juniper_junos');
    assert.deepEqual(inv.groups, ['core', 'dc']);
    assert.deepEqual(secretReferences(inv), ['lab-pass', 'lab.enable']);
  });

  it('names the file, line and field of a bad value', () => {
    fails(GOOD.replace('platform: juniper_junos', 'platform: junos'), /inventory\.yaml:30:5: devices\[1\]\.platform: must be one of cisco_ios, cisco_xe, cisco_nxos, juniper_junos, linux/);
    fails(GOOD.replace('port: 22\n', 'port: 70000\n'), /:29:5: devices\[1\]\.port: /);
    fails(GOOD.replace('    host: j1.example\n', ''), /devices\[1\]\.host: /);
    fails(GOOD.replace('    tags: [edge]\n', '    tag: [edge]\n'), /:26:5: devices\[0\]: unknown field "tag"/);
    fails('devices: [\n', /inventory\.yaml:\d+:\d+: /);
  });

  it('refuses a password in clear text', () => {
    fails(GOOD.replace('password: ${secret:lab-pass}', 'password: hunter2'), /:7:5: credentials\.lab\.password: must be a secret reference like "\$\{secret:core-pass\}"/);
  });

  it('checks references: groups, credentials, jump hosts, duplicate names, missing platform', () => {
    fails(GOOD.replace('groups: [core, dc]', 'groups: [core, nope]'), /:25:20: devices\[0\]\.groups\[1\]: unknown group "nope"/);
    fails(GOOD.replace('    credential: lab\n', '    credential: other\n'), /jumpHosts\.bastion\.credential: unknown credential "other"/);
    fails(GOOD.replace('name: j1', 'name: r1'), /devices\[1\]\.name: duplicate device name "r1"/);
    fails(GOOD.replace('    platform: juniper_junos\n', ''), /device "j1" has no platform/);
    fails(GOOD.replace('    jumpHost: bastion', '    jumpHost: nowhere'), /unknown jump host "nowhere"/);
  });

  it('reads secrets from MCPCP_SECRET_* and names a missing one without any value', () => {
    assert.equal(secretEnvName('core-pass'), 'MCPCP_SECRET_CORE_PASS');
    assert.equal(secretEnvName('lab.enable'), 'MCPCP_SECRET_LAB_ENABLE');
    assert.equal(resolveSecret('${secret:core-pass}', { MCPCP_SECRET_CORE_PASS: 's3' }, 'r1', 'password'), 's3');
    assert.equal(resolveSecret('admin', {}, 'r1', 'username'), 'admin');
    assert.throws(
      () => resolveSecret('${secret:core-pass}', {}, 'r1', 'password'),
      (err: unknown) => err instanceof ControlPlaneError && err.code === 'SECRET_MISSING' && /r1: the secret "core-pass" \(password\)/.test(err.message),
    );
  });
});
