# One image per service: docker build --build-arg SERVICE=<app-id> -t caregrid/<app-id> .
# (docker-compose.yml builds all seven). Only production dependencies, the compiled service and,
# for the gateway to serve, the built clinic app end up in the image; sources, tests, dev tools and
# packages/devkit never do. The build stage compiles the service (npm run build: one ES module,
# dist/main.js, with our workspace packages bundled in); the image runs that with plain node and
# holds neither the TypeScript sources nor a TypeScript loader.
ARG NODE_IMAGE=node:22-slim

# The clinic app, which the gateway serves at /app: built once (no SERVICE here, so every image
# shares this cached stage); only its dist/ (hashed bundles and index.html) reaches an image.
FROM ${NODE_IMAGE} AS clinic-app
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/clinic-app/package.json packages/clinic-app/
COPY packages/contracts/package.json packages/contracts/
RUN npm ci --workspace packages/clinic-app --no-audit --no-fund --ignore-scripts
COPY packages/clinic-app/build.ts packages/clinic-app/
COPY packages/clinic-app/src packages/clinic-app/src
# The app takes the contracts' vocabularies (zod-free) and only their types besides.
COPY packages/contracts/src/vocabulary.ts packages/contracts/src/
COPY packages/devkit/src/build-app.ts packages/devkit/src/
RUN npm run build --workspace packages/clinic-app

FROM ${NODE_IMAGE} AS deps
ARG SERVICE
RUN test -n "$SERVICE" || { echo "build with --build-arg SERVICE=<app-id> (a folder of services/)" >&2; exit 1; }
WORKDIR /app
# Manifests first: this layer is rebuilt only when dependencies change, not on every source edit.
COPY package.json package-lock.json ./
COPY packages/platform/package.json packages/platform/
COPY packages/contracts/package.json packages/contracts/
COPY packages/fhir/package.json packages/fhir/
COPY services/${SERVICE}/package.json services/${SERVICE}/
# --ignore-scripts: every dependency works without its install script (as npm 11 installs them
# locally, where scripts need approval), so none runs at build time either.
RUN npm ci --omit=dev --workspace services/${SERVICE} --no-audit --no-fund --ignore-scripts \
  && npm cache clean --force

FROM ${NODE_IMAGE} AS build
ARG SERVICE
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/platform/package.json packages/platform/
COPY packages/contracts/package.json packages/contracts/
COPY packages/fhir/package.json packages/fhir/
COPY services/${SERVICE}/package.json services/${SERVICE}/
# The service's dependencies and the repository's dev tools (esbuild, tsx); none of them leaves this stage.
RUN npm ci --workspace services/${SERVICE} --include-workspace-root --no-audit --no-fund --ignore-scripts
COPY tsconfig.base.json ./
COPY scripts/build.ts scripts/
COPY packages/platform/src packages/platform/src
COPY packages/contracts/src packages/contracts/src
COPY packages/fhir/src packages/fhir/src
COPY services/${SERVICE}/src services/${SERVICE}/src
RUN node --import tsx scripts/build.ts ${SERVICE}

FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ENV NODE_ENV=production
RUN groupadd --gid 10001 caregrid \
  && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin caregrid
WORKDIR /app
# node_modules (workspace links included) and the manifests the deps stage resolved.
COPY --from=deps /app ./
# The compiled service (with its SQL migrations beside it), nothing else of the build stage.
COPY --from=build /app/services/${SERVICE}/dist services/${SERVICE}/dist
# Served by the gateway (CLINIC_APP_DIR's default); inert in the other images.
COPY --from=clinic-app /app/packages/clinic-app/dist packages/clinic-app/dist
# Files stay root-owned: the service can read its code, not change it.
USER 10001:10001
WORKDIR /app/services/${SERVICE}
# /readyz (database and sidecar reachable) is served without the app API token.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.APP_PORT + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# As dapr.yaml's command (the young generation capped: README, Performance).
CMD ["node", "--max-semi-space-size=4", "dist/main.js"]
