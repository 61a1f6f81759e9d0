# Multi-stage build: dependencies installed once, the runtime image runs as a non-root user
# with the model weights baked in (no network needed at run time).
# Not built on the development machines (no Docker engine there): kept correct by reading.
# Node.js 26, the current LTS (20 reached end of life on 2026-04-30); .ci/run runs the suite on
# both 20 and 26.
ARG NODE_IMAGE=node:26-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# Older npms run dependency install scripts; onnxruntime-node's would fetch CUDA binaries (npm 11
# blocks it through package.json allowScripts; the CPU runtime ships inside the package).
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 DATA_DIR=/data MODEL_DIR=/app/models
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
COPY models ./models
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
# `api` by default; the worker service of docker-compose.yml runs `worker`.
ENTRYPOINT ["node", "--import", "tsx", "src/main.ts"]
CMD ["api"]
