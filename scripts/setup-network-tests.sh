#!/usr/bin/env bash
# Installs what the network server's fidelity tests use: Debian's python3-netmiko (a real client,
# run with the system /usr/bin/python3) and openssh-server (a real sshd as the `linux` device).
# Idempotent: does nothing when both are present. Needs root (or sudo) and the Debian mirrors;
# waits for a busy apt (scripts/apt.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

have_netmiko() { /usr/bin/python3 -c 'import netmiko' >/dev/null 2>&1; }
have_sshd() { [ -x /usr/sbin/sshd ]; }

if have_netmiko && have_sshd; then
  echo "network test tools present (netmiko, sshd)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# policy-rc.d stops the package from starting a system sshd.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
bash "${here}/apt.sh" install python3-netmiko openssh-server

have_netmiko || { echo "python3-netmiko did not install" >&2; exit 1; }
have_sshd || { echo "openssh-server did not install" >&2; exit 1; }
echo "network test tools installed (netmiko, sshd)"
