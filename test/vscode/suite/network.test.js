// The network server in a real VS Code, against the SSH device simulator that run.mjs starts
// before code-server, whose devices are in the workspace's .mcpcp/inventory.yaml (credentials as
// ${secret:...} references). The extension enables the server because the trusted workspace has
// an inventory; until the secrets are in VS Code's SecretStorage it fails with a message naming
// the missing one. With them stored and the server restarted, reads go through the gateway, an
// injection attempt is refused before anything reaches the device, and a configuration change
// waits for a human who sees the exact commands; after the approval the device has it.
//
// Two clients: vscode.lm.invokeTool, which gives what VS Code's chat model would get, and an MCP
// client on the gateway (the configuration "Copy Client Configuration" gives). Both are needed:
// VS Code 1.139 hands the model only a tool's structuredContent (as JSON) when there is one,
// dropping the text content, and LanguageModelToolResult does not carry `isError`. So the text
// of device_command and config_get, and isError, are read through the gateway client.
// Tests run in order and share state.
'use strict';

const assert = require('node:assert/strict');
const vscode = require('vscode');
const { definitionId, startServerAndWaitForTools, resultText, resultJson } = require('../lib/mcp');
const { EXTENSION_ID, activateExtension, waitForServer, gatewayClient, openApprovalsView, waitForPending, decide, rejectPending, contentText } = require('../lib/control-plane');
const { fixture } = require('../lib/fixtures');
const { note } = require('../lib/mocha-runner');
const { waitFor } = require('../lib/wait');

const NETWORK = 'network';
const CHANGE = 'interface Loopback42\n description set from VS Code\n ip address 10.42.42.42 255.255.255.255';
/** What the simulated IOS device answers to show version (test/fixtures/network-sim/cisco-outputs.ts). */
const IOS_VERSION = '15.7(3)M5';

describe('Network server in VS Code (device simulator)', function () {
  this.timeout(120_000);

  let net;
  let device;
  let api;
  let hooks;
  /** The prefix VS Code gave the network server's tools, e.g. `mcp_mcpcp-network_`. */
  let prefix;
  /** MCP client on the gateway's network endpoint. */
  let mcp;
  let applying;
  let settled = false;

  const invoke = (tool, input) => vscode.lm.invokeTool(`${prefix}${tool}`, { input, toolInvocationToken: undefined });
  const call = (name, args) => mcp.callTool({ name, arguments: args });
  const runningConfig = async () => {
    const result = await call('config_get', { device, section: '^interface Loopback' });
    const text = contentText(result);
    assert.equal(result.isError, undefined, text);
    assert.match(text, new RegExp(`^${device} running configuration \\(Cisco IOS; secrets removed\\)`), text);
    return text;
  };

  before(function () {
    net = fixture(NETWORK);
    if (!net) this.skip(); // run.mjs --fixtures without network
    device = net.devices.find((d) => d.platform === 'cisco_ios').name;
  });

  after(async () => {
    await rejectPending(hooks, NETWORK);
    await mcp?.close();
  });

  it('is enabled by the workspace inventory, whose devices wait for consent; it starts before their secrets are set', async () => {
    api = await activateExtension();
    // The workspace's devices are proposals: the tree says so, and the server gets none of them yet.
    await waitFor('the devices to wait for consent', () => api.treeSnapshot().find((r) => /workspace proposals? waits? for consent/.test(r.label)));
    const granted = await api.grantProposalsForTest(); // the modal dialog's "Bind Secrets and Connect"
    assert.ok(granted.includes(device), `granted: ${granted.join(', ')}`);
    const server = await waitForServer(api, NETWORK, 'running');
    assert.equal(typeof server.pid, 'number');
  });

  it('starts once its secrets are in SecretStorage and it is restarted', async () => {
    assert.equal(typeof api.setSecretForTest, 'function', 'the extension API has no setSecretForTest (ExtensionMode.Test only)');
    for (const [name, value] of Object.entries(net.secrets)) await api.setSecretForTest(name, value);
    await vscode.commands.executeCommand('mcpControlPlane.server.restart', NETWORK);
    const server = await waitForServer(api, NETWORK, 'running', (s) => s.toolCount > 0);
    assert.equal(typeof server.pid, 'number');
    note(`network: ${server.toolCount} tools, devices ${net.devices.map((d) => `${d.name}@127.0.0.1:${d.port}`).join(', ')}`);
  });

  it('its tools appear in vscode.lm.tools', async () => {
    const tools = await startServerAndWaitForTools(definitionId(EXTENSION_ID, NETWORK), (t) => /^mcp_.+_device_command$/.test(t.name));
    prefix = tools[0].name.slice(0, -'device_command'.length);
    const names = vscode.lm.tools.filter((t) => t.name.startsWith(prefix)).map((t) => t.name.slice(prefix.length));
    assert.equal(names.length, api.servers().find((s) => s.name === NETWORK).toolCount, `lm.tools: ${names.join(', ')}`);
    for (const tool of ['devices_list', 'config_get', 'config_apply']) assert.ok(names.includes(tool), `no ${tool} in ${names.join(', ')}`);
    mcp = await gatewayClient(NETWORK);
  });

  it('device_command "sh ver" returns the simulated IOS device\'s version', async () => {
    assert.ok(prefix && mcp, 'network tools are not registered');
    // Through the gateway: the abbreviation resolved, the device's own output.
    const result = await call('device_command', { device, command: 'sh ver' });
    const text = contentText(result);
    assert.equal(result.isError, undefined, text);
    assert.match(text, /Cisco IOS Software, C2900 Software \(C2900-UNIVERSALK9-M\), Version 15\.7\(3\)M5/, text);
    for (const value of Object.values(net.secrets)) assert.ok(!text.includes(value), 'a secret reached the output');
    // Through VS Code: the model gets the structured result; parsed, it holds the version.
    const seen = resultJson(await invoke('device_command', { device, command: 'sh ver' }));
    assert.deepEqual({ ...seen, output: undefined }, { device, command: 'show version', totalLines: result.structuredContent.totalLines, output: undefined });
    assert.match(seen.output, /Version 15\.7\(3\)M5/);
    const parsed = resultJson(await invoke('device_command', { device, command: 'sh ver', parse: true }));
    assert.equal(parsed?.command, 'show version', JSON.stringify(parsed));
    assert.equal(parsed.rows?.[0]?.VERSION, IOS_VERSION, JSON.stringify(parsed));
  });

  // VS Code drops the text content when structuredContent is present: the structured result of
  // device_command carries the output itself.
  it('device_command without parse gives VS Code\'s model the output', async () => {
    const text = resultText(await invoke('device_command', { device, command: 'sh ver' }));
    assert.ok(text.includes(IOS_VERSION), text);
  });

  it('an injection attempt ("show clock" then "reload") is refused with isError', async () => {
    assert.ok(prefix && mcp, 'network tools are not registered');
    const refusal = /Command refused: it contains a newline; only one command per call, on one line/;
    const result = await call('device_command', { device, command: 'show clock\nreload' });
    assert.equal(result.isError, true, contentText(result));
    assert.match(contentText(result), refusal);
    // The model in VS Code gets the same refusal (an error result has no structuredContent).
    assert.match(resultText(await invoke('device_command', { device, command: 'show clock\nreload' })), refusal);
    // The device is still up and answers (a reload would have dropped it).
    const clock = await call('device_command', { device, command: 'show clock' });
    assert.equal(clock.isError, undefined, contentText(clock));
  });

  it('config_apply waits for approval, with the exact commands as its preview in the Approvals view', async () => {
    assert.ok(prefix, 'network tools are not registered');
    assert.doesNotMatch(await runningConfig(), /Loopback42/);
    hooks = await openApprovalsView(api);
    applying = invoke('config_apply', { devices: [device], lines: CHANGE });
    applying.then(() => (settled = true), () => (settled = true));
    const pending = await waitForPending(hooks, NETWORK, 'config_apply');
    assert.deepEqual(pending.args, { devices: [device], lines: CHANGE });
    const preview = pending.preview ?? '';
    assert.ok(
      preview.includes([
        'commands, in order:',
        '  copy running-config flash:mcpcp-<id>.cfg',
        '  configure terminal revert timer 5',
        '  interface Loopback42',
        '   description set from VS Code',
        '   ip address 10.42.42.42 255.255.255.255',
        '  end',
        '  (post-check over a new connection)',
        '  configure confirm',
      ].join('\n')),
      `preview:\n${preview}`,
    );
    assert.match(preview, /^Dry run: 3 lines from lines on 1 device\. Nothing was sent\./);
    assert.match(preview, /diff \(computed locally\):\n\+interface Loopback42\n\+ description set from VS Code\n\+ ip address 10\.42\.42\.42 255\.255\.255\.255/);
    await waitFor('a notification for it', () => hooks.notifications().some((t) => t.startsWith(`Approval needed: config_apply on ${NETWORK}`)));
    assert.equal(settled, false, 'the call must wait for the human');
    assert.doesNotMatch(await runningConfig(), /Loopback42/, 'nothing reached the device before the approval');
  });

  it('approving it applies the change on the device (config_get shows it)', async () => {
    assert.ok(applying, 'no config_apply waiting');
    const pending = await waitForPending(hooks, NETWORK, 'config_apply');
    const { id, response } = await decide(hooks, pending, true, 'add Loopback42 for the test');
    assert.deepEqual(response, { type: 'response', id, ok: true, result: { status: 'approved', decidedBy: 'vscode-ui' } });
    // What the model gets in VS Code: the structured report.
    const report = resultJson(await applying);
    assert.equal(report?.ok, true, JSON.stringify(report));
    assert.deepEqual(report.skipped, []);
    assert.equal(report.devices.length, 1);
    assert.deepEqual({ ...report.devices[0], backup: undefined }, { device, status: 'applied', applied: 3, total: 3, backup: undefined });
    assert.match(report.devices[0].backup, /^flash:mcpcp-\d{8}-\d{6}-\d{3}-[0-9a-f]{4}\.cfg$/);
    assert.match(await runningConfig(), /interface Loopback42\n description set from VS Code\n ip address 10\.42\.42\.42 255\.255\.255\.255/);
    await waitFor('the view to show nothing pending for network', () => !hooks.approvalsView().pending.some((a) => a.server === NETWORK));
  });

  it('the server\'s log names no secret value', async () => {
    await vscode.commands.executeCommand('mcpControlPlane.server.showLog', NETWORK);
    const doc = await waitFor('the network log channel to open', () =>
      vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'output' && decodeURIComponent(d.uri.path).includes(`${EXTENSION_ID}.MCP Server ${NETWORK}`)));
    const { pid } = await waitForServer(api, NETWORK, 'running');
    await waitFor(`the log to name the running pid ${pid}`, () => doc.getText().includes(String(pid)));
    for (const value of Object.values(net.secrets)) assert.ok(!doc.getText().includes(value), 'a secret value is in the server log');
  });
});
