# The MCP Control Plane service: a thin copy of the runtime folder onto Node 22 (docs/deploy.md).
# Nothing is built inside the image. On a machine with a Docker engine (these development machines
# have none, so the image is not built here):
#   npm ci && npm run build:runtime && docker build -t registry.example.com/mcp-control-plane:0.1.0 .
# For a reproducible build, pin the base by digest in your fork of this line
# (node:22-bookworm-slim@sha256:<digest> from `docker buildx imagetools inspect node:22-bookworm-slim`).
FROM node:22-bookworm-slim

LABEL org.opencontainers.image.title="MCP Control Plane" \
      org.opencontainers.image.description="mcpcp serve: MCP servers behind a gateway with policy, approvals and audit" \
      org.opencontainers.image.licenses="MIT"

# A read-only root file system works: state goes to /var/lib/mcpcp and scratch files to /tmp, both
# volumes in the Kubernetes manifests (deploy/base/deployment.yaml).
ENV NODE_ENV=production \
    HOME=/var/lib/mcpcp \
    MCPCP_DATA_DIR=/var/lib/mcpcp \
    TMPDIR=/tmp

WORKDIR /app
# Owned by root and not writable by the service user: the program cannot be changed at run time.
COPY --chown=0:0 dist-runtime/ /app/
# The data directory's mount point, owned by the service user (for a plain `docker run` without a volume).
COPY --chown=10001:10001 deploy/image/data/ /var/lib/mcpcp/

# A numeric user, so that Kubernetes can check runAsNonRoot.
USER 10001:10001
EXPOSE 8080

# No HEALTHCHECK: Kubernetes ignores it and probes /healthz (liveness) and /readyz (readiness) itself.
ENTRYPOINT ["node", "/app/cli.js"]
CMD ["serve", "--config", "/etc/mcpcp/config.yaml", "--data-dir", "/var/lib/mcpcp"]
