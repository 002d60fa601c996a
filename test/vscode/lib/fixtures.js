// Extension-host side of the test fixtures that test/vscode/run.mjs starts before VS Code
// (lib/fixture-processes.mjs): what they are (MCPCP_VSCODE_FIXTURES), and a way to look at the
// Kubernetes API emulator directly, beside the control plane, to check what a tool call did.
'use strict';

const fs = require('node:fs');
const https = require('node:https');

let cached;

/**
 * The fixture `name` (`kubernetes` | `network`) as run.mjs started it, or undefined when it was
 * not started (`--fixtures`, `--self-test`, `--workspace`): a suite then skips its tests.
 */
function fixture(name) {
  if (cached === undefined) {
    const file = process.env.MCPCP_VSCODE_FIXTURES;
    cached = file && fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
  }
  return cached[name];
}

/**
 * GET `path` from the Kubernetes API emulator as its admin (the kubeconfig's bearer token and CA),
 * without the control plane in between. Resolves with the parsed JSON; rejects on a non-2xx status.
 */
function kubeGet(k8s, path) {
  return new Promise((resolve, reject) => {
    const req = https.get(new URL(path, k8s.url), { ca: k8s.ca, headers: { authorization: `Bearer ${k8s.token}`, accept: 'application/json' }, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        if (res.statusCode < 200 || res.statusCode >= 300) return reject(new Error(`GET ${path}: ${res.statusCode} ${body.slice(0, 300)}`));
        try {
          resolve(JSON.parse(body));
        } catch (err) {
          reject(new Error(`GET ${path}: not JSON: ${err.message}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timed out`)));
    req.on('error', reject);
  });
}

module.exports = { fixture, kubeGet };
