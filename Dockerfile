# syntax=docker/dockerfile:1
# Blog Poster image: one binary, several roles (api | worker | scheduler | all).
# Node 24 runs the TypeScript sources directly (built-in type stripping): there is no build step.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev also leaves out the devDependency `node` (the Node 24 used by npm scripts on the hosts).
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
# Two malloc arenas instead of one per thread (the cover thread, libuv's pool): a worker's peak in a burst was 15 MiB
# lower in alternating runs of the benchmark.
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY queues ./queues
COPY processors ./processors
COPY migrations ./migrations
COPY bin ./bin
COPY samples ./samples
# Node's compile cache, filled now with every module stripped of its types and compiled: a role started from the image
# never loads the type stripper (21 MiB resident for the life of the process) and starts sooner (bin/blog-poster.js).
ENV NODE_COMPILE_CACHE=/app/.node-compile-cache
COPY scripts/warm-compile-cache.ts ./scripts/
RUN node scripts/warm-compile-cache.ts && chown -R node:node /app/.node-compile-cache
# Static output (OUTPUT_DIR); a named volume mounted here starts with this ownership.
RUN mkdir -p /data/output && chown node:node /data/output
USER node
EXPOSE 3000
# A young generation of at most 2 × 16 MiB: left to itself V8 grows it to 128 MiB on a machine with much memory,
# which a busy worker then keeps resident (README, Benchmarks).
ENTRYPOINT ["node", "--max-semi-space-size=16", "bin/blog-poster.js"]
CMD ["all"]
