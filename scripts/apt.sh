#!/usr/bin/env bash
# The one way this repository installs Debian packages (.ci/run, scripts/install-code-server.sh,
# scripts/setup-network-tests.sh and any suite that needs a package). A busy package manager (an
# unattended upgrade, another CI job, a developer's apt) makes apt wait instead of failing:
#
#   scripts/apt.sh install PKG...   install those of PKG that are not installed yet; runs
#                                   `apt-get update` first when the package lists are missing or
#                                   do not know a package, and once more if the install fails
#                                   (stale lists). Prints nothing when everything is installed.
#   scripts/apt.sh update           apt-get update
#   scripts/apt.sh apt-get ARGS...  apt-get ARGS, with the same waiting
#
# Waiting: the dpkg locks (/var/lib/dpkg/lock-frontend, lock) through apt's own
# `-o DPkg::Lock::Timeout=N`; the package lists lock (/var/lib/apt/lists/lock), which apt-get
# update does not wait for, by retrying until the same deadline. N is MCPCP_APT_LOCK_TIMEOUT
# seconds, 600 by default. Runs apt-get through sudo when not root; DEBIAN_FRONTEND=noninteractive.
# Exit code: apt-get's.
set -euo pipefail

timeout="${MCPCP_APT_LOCK_TIMEOUT:-600}"
sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)

log() { echo "[apt] $*" >&2; }

# apt-get "$@", waiting up to ${timeout}s for any apt/dpkg lock. Output goes to stderr, so callers'
# stdout stays theirs.
apt_get() {
  local deadline=$(( $(date +%s) + timeout )) err rc
  err="$(mktemp)"
  while :; do
    # stdout to our stderr; stderr through tee, so it is shown as it comes and kept for the check.
    set +e
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get -o "DPkg::Lock::Timeout=${timeout}" "$@" 3>&2 2>&1 1>&3 | tee "${err}" >&2
    rc=${PIPESTATUS[0]}
    set -e
    if [ "${rc}" != 0 ] && grep -q 'Could not get lock' "${err}" && [ "$(date +%s)" -lt "${deadline}" ]; then
      log "apt is busy (a lock is held): waiting"
      sleep 2
      continue
    fi
    rm -f "${err}"
    return "${rc}"
  done
}

installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }

lists_know() {
  local pkg
  compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || return 1
  for pkg in "$@"; do
    apt-cache policy "${pkg}" 2>/dev/null | grep -q 'Candidate: [^(]' || return 1
  done
}

install() {
  local missing=() pkg updated=0
  for pkg in "$@"; do installed "${pkg}" || missing+=("${pkg}"); done
  [ "${#missing[@]}" -gt 0 ] || return 0
  log "installing ${missing[*]}"
  if ! lists_know "${missing[@]}"; then apt_get update -qq; updated=1; fi
  if ! apt_get install -y -qq --no-install-recommends "${missing[@]}"; then
    [ "${updated}" = 0 ] || return 1
    log "install failed: updating the package lists and trying again"
    apt_get update -qq
    apt_get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

cmd="${1:-}"
[ "$#" -gt 0 ] && shift
case "${cmd}" in
  install) [ "$#" -gt 0 ] || { echo "usage: $0 install PKG..." >&2; exit 2; }; install "$@" ;;
  update) apt_get update -qq ;;
  apt-get) apt_get "$@" ;;
  *) echo "usage: $0 install PKG... | update | apt-get ARGS..." >&2; exit 2 ;;
esac
