// What the team specs (team-client, team-oidc) share: the person's browser at the fixture issuer,
// and the service's audit as an operator exports it.
'use strict';

const { execFileSync } = require('node:child_process');
const path = require('node:path');

function unescapeHtml(text) {
  return text.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)));
}

/**
 * The person's browser at the issuer's sign-in page: opens the authorize URL, clicks "Sign in as
 * <sub>", and follows the redirect to wherever the issuer sends the code (the extension's loopback).
 */
async function browserSignsIn(authorizeUrl, sub) {
  const page = await (await fetch(authorizeUrl)).text();
  const form = new URLSearchParams();
  for (const m of page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form.set(m[1], unescapeHtml(m[2]));
  form.set('user', sub);
  const submitted = await fetch(new URL('/authorize', authorizeUrl), { method: 'POST', body: form, redirect: 'manual' });
  const location = submitted.headers.get('location');
  if (submitted.status !== 302 || !location) throw new Error(`the issuer did not redirect: ${submitted.status}`);
  return { location, page: await (await fetch(location)).text() };
}

/**
 * Every audit record the service wrote so far. A team service with storage.postgres keeps its audit
 * in PostgreSQL (one chain per replica), so the records come from `mcpcp audit export --config`,
 * the way an operator reads them.
 */
function auditRecords(team) {
  const cli = path.resolve(__dirname, '..', '..', '..', 'dist', 'cli.js');
  const out = execFileSync(process.execPath, [cli, 'audit', 'export', '--format', 'jsonl', '--config', team.configFile, '--data-dir', team.dataDir], {
    encoding: 'utf8',
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    timeout: 30_000,
  });
  return out.split('\n').filter(Boolean).flatMap((l) => {
    try {
      return [JSON.parse(l)];
    } catch {
      return [];
    }
  });
}

module.exports = { browserSignsIn, auditRecords };
