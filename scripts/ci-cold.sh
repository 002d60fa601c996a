#!/usr/bin/env bash
# Runs CI as on a brand-new machine: a clean clone of HEAD (committed work only) in a temporary
# folder, a fresh HOME (no ~/.npmrc, npm cache, ~/.cache/mcpcp), an empty MCPCP_CACHE_DIR, no
# .tools/ or node_modules, an environment with nothing of the caller's but HOME, a PATH without
# this checkout's .tools/ and node_modules/.bin, locale, terminal, proxy and CA variables; then
# `bash .ci/run`. Prints where it ran, .ci/run's output, and at the end the step times again.
# Exit code: .ci/run's.
#
# What it cannot make absent: Debian packages already installed on this machine (chromium,
# libkrb5-dev, openssh-server, python3-netmiko, build tools): .ci/run's apt step finds them and
# installs nothing. See docs/testing-vscode.md.
#
# Usage: scripts/ci-cold.sh [--keep] [--npmrc FILE]
#   --keep        keep the folder after a passing run (a failing run's folder is always kept)
#   --npmrc FILE  copy FILE to the fresh HOME's .npmrc (a registry, proxy or CA that npm needs here)
set -euo pipefail

src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
keep=0
npmrc=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --keep) keep=1 ;;
    --npmrc) [ "$#" -ge 2 ] || { echo "--npmrc needs a file" >&2; exit 2; }; npmrc="$2"; shift ;;
    *) echo "usage: $0 [--keep] [--npmrc FILE]" >&2; exit 2 ;;
  esac
  shift
done

head="$(git -C "${src}" rev-parse HEAD)"
if [ -n "$(git -C "${src}" status --porcelain)" ]; then
  echo "[ci-cold] note: uncommitted changes (or untracked files) in ${src} are not part of this run (it tests ${head:0:12})" >&2
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/mcpcp-cold.XXXXXX")"
home="${dir}/home"
cache="${dir}/mcpcp-cache"
repo="${dir}/repo"
mkdir -p "${home}" "${cache}"
[ -z "${npmrc}" ] || cp "${npmrc}" "${home}/.npmrc"
git clone --quiet --no-local --no-hardlinks "${src}" "${repo}"
git -C "${repo}" checkout --quiet --detach "${head}"
for d in .tools node_modules dist; do
  [ ! -e "${repo}/${d}" ] || { echo "[ci-cold] ${d} exists in the fresh clone" >&2; exit 1; }
done

# PATH as a new machine has it: no Node or tools from this checkout (or any node_modules/.bin).
path=""
IFS=: read -r -a entries <<<"${PATH}"
for p in "${entries[@]}"; do
  case "${p}" in
    ''|"${src}"/*|*/.tools/*|*/node_modules/.bin|*/node_modules/.bin/|*/node-gyp-bin|*/node-gyp-bin/) ;;
    *) path="${path:+${path}:}${p}" ;;
  esac
done
env_args=(env -i "HOME=${home}" "PATH=${path}" "MCPCP_CACHE_DIR=${cache}")
for v in USER LOGNAME SHELL TERM TZ LANG LANGUAGE CI \
  http_proxy https_proxy no_proxy all_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY ALL_PROXY \
  SSL_CERT_FILE SSL_CERT_DIR NODE_EXTRA_CA_CERTS $(compgen -e | grep '^LC_' || true); do
  [ -z "${!v+x}" ] || env_args+=("${v}=${!v}")
done

echo "[ci-cold] clone of ${head:0:12} in ${repo}"
echo "[ci-cold] HOME=${home} MCPCP_CACHE_DIR=${cache}"
echo "[ci-cold] PATH=${path}"
echo "[ci-cold] log: ${dir}/ci.log"
started=$(date +%s)
set +e
(cd "${repo}" && "${env_args[@]}" bash .ci/run) 2>&1 | tee "${dir}/ci.log"
rc=${PIPESTATUS[0]}
set -e

echo "[ci-cold] ---- $(date -u +%FT%TZ), clone of ${head:0:12} in ${repo}"
grep -E '^\[ci\] (time|WARNING)' "${dir}/ci.log" || echo "[ci-cold] .ci/run printed no step times"
echo "[ci-cold] .ci/run exit ${rc} after $(( $(date +%s) - started ))s"
if [ "${rc}" = 0 ] && [ "${keep}" = 0 ]; then
  rm -rf "${repo}" "${home}" "${cache}"
  echo "[ci-cold] removed the clone, HOME and cache (--keep keeps them); the log stays: ${dir}/ci.log"
else
  echo "[ci-cold] kept ${dir}"
fi
exit "${rc}"
