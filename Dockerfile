# One image per service: docker build --build-arg SERVICE=<app-id> -t caregrid/<app-id> .
# (docker-compose.yml builds all seven). Only production dependencies, the compiled service and,
# for the gateway to serve, the built clinic app end up in the image; sources, tests, dev tools and
# packages/devkit never do. The build stage compiles the service (npm run build: one ES module,
# dist/main.js, with our workspace packages bundled in); the image runs that with plain node and
# holds neither the TypeScript sources nor a TypeScript loader.
# Also the CareGrid sidecar: docker build --target daprd -t caregrid/daprd . (stages daprd-build
# and daprd below; the apps' default build never reaches them).
#
# Base images by digest: the tag names the version, the digest is the image (move both together).
ARG NODE_IMAGE=node:22-slim@sha256:83f487e0a63425e5b4d146fb5e5be574bcbe1b7b843d3ebafdd95eaf7767a7e5
ARG GO_IMAGE=golang:1.26.6-bookworm@sha256:116d58cbd88c1297624acc6e967a060012422bacf9930927e23fb719189c6f36
ARG DAPRD_BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab
# docker-compose.yml's broker image.
ARG KAFKA_IMAGE=apache/kafka:4.1.1@sha256:0bc1bb2478f45b6cea78864df86acdc11e8df2c5172477819a4d12942cbe5d40

# daprd as every local run and `npm test` run it: infra/daprd/build.sh (the one recipe) applies
# infra/daprd/patches and builds a static binary. Built on the build machine's own platform and
# cross-compiled for the target's (CGO off), so the arm64 image needs no emulated Go compiler.
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS daprd-build
ARG TARGETOS
ARG TARGETARCH
# build.sh applies the patches with patch(1), which the Go image does not ship.
RUN apt-get update && apt-get install -y --no-install-recommends patch && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY infra/daprd infra/daprd
RUN GOOS=${TARGETOS} GOARCH=${TARGETARCH} bash infra/daprd/build.sh daprd /out/daprd

# The sidecar image: the binary alone on distroless (CA certificates, no shell), as the
# distroless nonroot user (65532, as upstream's daprd image). /daprd is where the Dapr sidecar
# injector runs it from (its container command); Compose passes only the flags.
FROM ${DAPRD_BASE_IMAGE} AS daprd
COPY --from=daprd-build /out/daprd /daprd
USER 65532:65532
ENTRYPOINT ["/daprd"]

# Compose's kafka-access (docker build --target kafka-access): infra/kafka/KafkaAccess.java, the
# users and ACLs from the pub/sub scopes, compiled against the broker image's own Kafka jars and
# run on that image (a JRE only: the compiler is Debian's, in the Go image the daprd build uses).
FROM ${KAFKA_IMAGE} AS kafka-dist
FROM ${GO_IMAGE} AS kafka-access-build
RUN apt-get update && apt-get install -y --no-install-recommends openjdk-17-jdk-headless && rm -rf /var/lib/apt/lists/*
COPY --from=kafka-dist /opt/kafka/libs /opt/kafka/libs
COPY infra/kafka/KafkaAccess.java /src/KafkaAccess.java
RUN javac --release 17 -cp '/opt/kafka/libs/*' -d /out /src/KafkaAccess.java
FROM ${KAFKA_IMAGE} AS kafka-access
COPY --from=kafka-access-build /out /opt/caregrid
ENTRYPOINT ["java", "-cp", "/opt/kafka/libs/*:/opt/caregrid", "KafkaAccess"]

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
