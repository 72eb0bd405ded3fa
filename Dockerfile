# syntax=docker/dockerfile:1
#
# The Slipway update server (`slipway server`) as a container image.
#
#   docker build -t slipway .
#   docker run -d --name slipway -p 8443:8443 -v slipway-data:/var/lib/slipway \
#     --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges slipway
#
# Everything the server writes (SQLite, the local CA and server certificate, artifacts, the first
# admin password, the lock file) goes to the volume /var/lib/slipway; the rest of the file system
# may be read-only (only /tmp needs to be writable). With PostgreSQL see compose.yaml.
#
# Status: this file was written without a reachable Docker daemon, so `docker build` was NOT run
# when it was written. The staging step below (prune to production dependencies, copy only what
# `slipway server` loads) was rehearsed outside Docker on a copy of a built tree: the server
# started from the result as an unprivileged user on SQLite and on PostgreSQL, wrote only to its
# data directory, and passed the HEALTHCHECK command below. Build it once before relying on it.

ARG NODE_VERSION=20

# ---- build: compile TypeScript, bundle the CLI, build the native addons ----
FROM node:${NODE_VERSION}-bookworm AS build
# node:20-bookworm already has python3, make and g++ for node-gyp (better-sqlite3 and zstd-napi
# build from source when no prebuilt binary fits). libdeflate-dev: the headers @slipway/libdeflate
# compiles against; without them it is silently skipped and gzip falls back to zlib (.ci/run).
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libdeflate-dev \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Manifests first, so the dependency layer is rebuilt only when they change. @slipway/libdeflate
# builds itself at install time and needs its sources for that.
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY packages/mqtt/package.json packages/mqtt/
COPY packages/testkit/package.json packages/testkit/
COPY packages/agent/package.json packages/agent/
COPY packages/server/package.json packages/server/
COPY packages/cli/package.json packages/cli/
COPY packages/web/package.json packages/web/
COPY packages/libdeflate packages/libdeflate
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY scripts scripts
COPY packages packages
RUN npm run build
# Fail here, not at the first upload, if a native addon did not build. @slipway/libdeflate is
# optional for the code but required of this image.
# (better-sqlite3 sits in packages/server/node_modules: resolve it from there, as the server does.)
RUN cd packages/server \
  && node -e "new (require('better-sqlite3'))(':memory:').close(); require('zstd-napi'); require('@node-rs/argon2')" \
  && node --input-type=module -e "const { libdeflate } = await import('@slipway/libdeflate'); if (!libdeflate) throw new Error('@slipway/libdeflate was not built');"
# Only production dependencies (the built addons stay), then only what `slipway server` loads:
# the CLI bundle, the compiled server, mqtt and core with their package.json files, and the web UI's static files.
RUN npm prune --omit=dev --no-audit --no-fund \
  && rm -rf node_modules/@slipway/agent node_modules/@slipway/testkit node_modules/.bin \
  && mkdir -p /out/app/packages \
  && cp -a package.json package-lock.json node_modules /out/app/ \
  && for p in core mqtt server; do \
       mkdir -p /out/app/packages/$p/dist \
       && cp -a packages/$p/package.json /out/app/packages/$p/ \
       && cp -a packages/$p/dist/src /out/app/packages/$p/dist/ \
       && if [ -d packages/$p/node_modules ]; then cp -a packages/$p/node_modules /out/app/packages/$p/; fi; \
     done \
  && mkdir -p /out/app/packages/cli/dist /out/app/packages/libdeflate/build/Release /out/app/packages/web/dist \
  && cp -a packages/web/package.json /out/app/packages/web/ \
  && cp -a packages/web/dist/ui /out/app/packages/web/dist/ \
  && cp -a packages/cli/package.json packages/cli/bin /out/app/packages/cli/ \
  && cp -a packages/cli/dist/slipway.mjs packages/cli/dist/slipway.mjs.map /out/app/packages/cli/dist/ \
  && cp -a packages/libdeflate/package.json packages/libdeflate/index.js /out/app/packages/libdeflate/ \
  && cp -a packages/libdeflate/build/Release/slipway_libdeflate.node /out/app/packages/libdeflate/build/Release/ \
  && find /out/app -name '*.tsbuildinfo' -delete \
  && if [ -n "$(find /out/app/node_modules -xtype l)" ]; then find /out/app/node_modules -xtype l; echo 'dangling links'; exit 1; fi

# ---- runtime: node, the production tree, an unprivileged user ----
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# libdeflate0: the shared library the @slipway/libdeflate addon links against.
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libdeflate0 \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --system --gid 10001 slipway \
  && useradd --system --uid 10001 --gid slipway --home-dir /var/lib/slipway --no-create-home --shell /usr/sbin/nologin slipway \
  && mkdir -p /var/lib/slipway \
  && chown slipway:slipway /var/lib/slipway \
  && chmod 0700 /var/lib/slipway
# Owned by root and not writable by the server's user: the code cannot be changed at run time.
COPY --from=build /out/app /app
RUN ln -s /app/packages/cli/bin/slipway.mjs /usr/local/bin/slipway \
  && slipway --help >/dev/null

ENV NODE_ENV=production \
  SLIPWAY_DATA_DIR=/var/lib/slipway \
  SLIPWAY_LISTEN=0.0.0.0:8443
USER slipway:slipway
WORKDIR /var/lib/slipway
VOLUME ["/var/lib/slipway"]
EXPOSE 8443

# /readyz: 200 once the database answers and every migration ran, 503 otherwise. The probe talks
# to this container over loopback and sends no secret, so it does not check the certificate (it may
# come from the local CA or from tls.certFile). HEALTHCHECK_URL overrides it, e.g. http://127.0.0.1:8443/readyz
# with SLIPWAY_BEHIND_PROXY=true, or another port with SLIPWAY_LISTEN.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "const u=new URL(process.env.HEALTHCHECK_URL||'https://127.0.0.1:8443/readyz');const r=require(u.protocol==='https:'?'node:https':'node:http').get(u,{rejectUnauthorized:false,timeout:4000},(res)=>process.exit(res.statusCode===200?0:1));r.on('timeout',()=>process.exit(1));r.on('error',()=>process.exit(1));"]

# SIGTERM (docker stop) drains requests in flight for shutdownGraceSeconds (10) before exiting.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/packages/cli/bin/slipway.mjs", "server"]
CMD []
