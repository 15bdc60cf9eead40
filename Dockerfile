# syntax=docker/dockerfile:1
#
# The relay's container image: `docker build -t llm-relay:0.1.0 .`
#
# Node 24 (LTS, supported until April 2028): the locked better-sqlite3 12.x lists it in its engines
# and ships prebuilt binaries for it, Node 20 is past its end of life, and 24 is the smallest step
# from the Node 20 the test suite runs on. Node 26 works too (`--build-arg NODE_VERSION=26`) once
# CI runs the tests on it. Both stages use the same image, so the native addon built in the first
# one matches the ABI of the second. Pin the base by digest (node:24-bookworm-slim@sha256:…) in a
# release pipeline.
ARG NODE_VERSION=24

# ---- builder: compiles TypeScript and the better-sqlite3 addon, then drops dev dependencies ----
FROM node:${NODE_VERSION}-bookworm-slim AS builder

# better-sqlite3 downloads a prebuilt binary when one matches; python3, make and g++ are node-gyp's
# fallback when none does (a new Node minor, another libc, no network to the prebuilt host).
# npm_config_nodedir points node-gyp at the headers this image ships instead of downloading them.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local

WORKDIR /app

# Dependencies first, so a source change does not re-install them. --ignore-scripts keeps the
# package's own `prepare` (a build, sources are not here yet) and every other install script from
# running; better-sqlite3, the one dependency with an install script, is then built on purpose.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts \
    && npm rebuild better-sqlite3

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
COPY web ./web
COPY scripts ./scripts
# The JSON Schema of relay.yaml is generated from the code it describes, so the image never ships a
# stale one; then only production dependencies are kept for the runtime stage.
RUN npm run build \
    && mkdir -p schema \
    && node bin/relay.js schema > schema/relay.schema.json \
    && npm prune --omit=dev

# ---- runtime: the same slim base, no compiler, no sources, no dev dependencies, not root ----
FROM node:${NODE_VERSION}-bookworm-slim AS runtime

# V8 sizes its young generation from the memory it may use: under a container limit of 512 MiB
# that is 1 MiB per semi-space, which halves the relay's throughput (docs/operations.md, "Tuning").
# 16 MiB is the size the benchmark measures. Setting NODE_OPTIONS yourself replaces this: keep it.
ENV NODE_OPTIONS=--max-semi-space-size=16
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0 \
    RELAY_DATA_DIR=/var/lib/relay

# A fixed numeric uid/gid (10001), so Kubernetes' runAsNonRoot can verify it and the manifests can
# name it (runAsUser/fsGroup 10001). The data directory is the only place the relay writes.
RUN groupadd --system --gid 10001 relay \
    && useradd --system --uid 10001 --gid relay --home-dir /var/lib/relay --no-create-home --shell /usr/sbin/nologin relay \
    && mkdir -p /var/lib/relay \
    && chown relay:relay /var/lib/relay \
    && chmod 0750 /var/lib/relay

WORKDIR /app

# Code stays owned by root and read-only for the relay user.
COPY --from=builder /app/package.json ./package.json
COPY --from=builder /app/node_modules ./node_modules
COPY --from=builder /app/dist ./dist
COPY --from=builder /app/bin ./bin
COPY --from=builder /app/schema ./schema

USER 10001:10001

EXPOSE 8080

# For `docker run` and Compose; Kubernetes ignores it and uses the probes in the manifests. The slim
# image has no curl: Node's own fetch asks /health.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health').then((response) => process.exit(response.ok ? 0 : 1), () => process.exit(1))"]

# Node is PID 1 and handles SIGTERM itself (readiness 503, drain, grace period): no init wrapper,
# and the exec form so the signal reaches node, not a shell.
ENTRYPOINT ["node", "bin/relay.js"]
CMD ["serve"]
