# syntax=docker/dockerfile:1
#
# cxvitals container image: one image, every service (`cxvitals ingest|aggregator|api|goals|
# provision|...`), configured by environment variables (README "Configuration").
#
#   docker build -t cxvitals:dev .                              # production image (external ClickHouse)
#   docker build -t cxvitals:dev --build-arg WITH_CHDB=1 .      # keeps the embedded chDB (+540 MB)
#
# Stage 1 builds the native addon (node-rdkafka compiles librdkafka, with TLS and SASL, from
# source: python3, make, g++ and the -dev headers) and prunes what only the build needs.
# Stage 2 is node:20-bookworm-slim with the runtime libraries, the pruned node_modules and
# the sources; it runs as the unprivileged `node` user. TypeScript runs through tsx, as in
# development: there is no separate build output to drift from the sources.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
ARG WITH_CHDB=0
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ libssl-dev zlib1g-dev libsasl2-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# npm 11 honours package.json "allowScripts" (which install scripts may run), like CI.
RUN npm install -g npm@11
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 # librdkafka's sources and static objects are only needed to compile the addon.
 && rm -rf node_modules/node-rdkafka/deps node_modules/node-rdkafka/build/Release/obj.target \
 && find node_modules/node-rdkafka/build/deps -maxdepth 1 -type f ! -name '*.so*' -delete \
 # chDB (the embedded ClickHouse) is 540 MB; containers use a ClickHouse server (CLICKHOUSE_URL).
 && if [ "$WITH_CHDB" != "1" ]; then rm -rf node_modules/@chdb; fi \
 && node -e "console.log('librdkafka', require('node-rdkafka').librdkafkaVersion)"

FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 zlib1g libsasl2-2 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    CXV_HOST=0.0.0.0 \
    CXV_PORT=8080 \
    CXV_SIMULATE=0 \
    CXV_DATA_DIR=/app/data
COPY --from=build /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY services ./services
COPY schemas ./schemas
COPY sql ./sql
# The dashboard's browser bundle, built once here instead of in memory at every start
# (the containers run with a read-only root filesystem).
RUN npm run --if-present build:dashboard
# `cxvitals` on the PATH; exec keeps node as PID 1 so SIGTERM reaches the graceful shutdown.
RUN printf '#!/bin/sh\nexec node --import tsx /app/services/cli/main.ts "$@"\n' > /usr/local/bin/cxvitals \
 && chmod 0755 /usr/local/bin/cxvitals \
 && mkdir -p /app/data && chown node:node /app/data \
 && node -e "require('node-rdkafka')"
USER node
EXPOSE 8080
# Liveness only (no Kafka/ClickHouse check): an outage of either must not restart healthy containers.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.CXV_PORT||8080)+'/livez').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["cxvitals"]
CMD ["start"]
