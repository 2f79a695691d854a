#!/usr/bin/env bash
# CareGrid's real local servers without Docker: PostgreSQL, MariaDB, Kafka (KRaft; a second
# broker, kafka-test, for the tests alone), FerretDB, Dapr Sentry (the sidecars' mTLS certificate
# authority), Zipkin (the traces of apps and sidecars) and Mailpit (the mail the SMTP binding sends)
# as plain processes on 127.0.0.1, plus the daprd build.
#
#   infra/infra.sh up [component…]     install/build what is missing, start, wait ready
#                                      (no component: all; `dev`: all but the tests' kafka-test)
#   infra/infra.sh down [component…]   stop
#   infra/infra.sh status              table of components
#   infra/infra.sh build               only build/fetch binaries (daprd, sentry, ferretdb, mailpit, kafka and zipkin jars)
#   infra/infra.sh tools               build the validators and test tools of `npm test` (infra/tools/),
#                                      and the Dapr CLI from ../shared/dapr-cli when that folder exists
#   infra/infra.sh kafka-classpath     print the classpath of the Kafka jars (admin tools included)
#   infra/infra.sh kafka-credentials   make the Kafka passwords (.caregrid/kafka-credentials) and admin login files when missing
#   infra/infra.sh kafka-access <port> write the Kafka users, topics and ACLs on a broker at that port
#
# Idempotent: reuses what is installed, built or running. Data lives in .caregrid/
# (git-ignored); built binaries are cached in ~/.cache/caregrid keyed by their inputs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=infra.env
. "$ROOT/infra/infra.env"
STATE=${CAREGRID_HOME:-$ROOT/.caregrid}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/caregrid
RUN=$STATE/run
LOGS=$STATE/logs
BIN=$STATE/bin
# What `npm run dev` uses (and the Dapr CLI); `npm test` needs kafka-test besides.
DEV_COMPONENTS=(postgres mariadb kafka ferretdb ferretdb-audit daprd sentry sentry-cli scheduler zipkin mailpit)
ALL_COMPONENTS=(postgres mariadb kafka kafka-test ferretdb ferretdb-audit daprd sentry sentry-cli scheduler zipkin mailpit)

say() { printf '\033[1;34m[infra]\033[0m %s\n' "$*"; }
fail() { printf '\033[1;31m[infra] %s\033[0m\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

# PostgreSQL and MariaDB refuse to run as root: run them as their package's user.
as_user() {
  local user=$1; shift
  if is_root; then runuser -u "$user" -- "$@"; else "$@"; fi
}
own() { # own <user> <path…>: hand directories to the server's user when we are root
  local user=$1; shift
  if is_root; then chown -R "$user:" "$@"; fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # wait_for <what> <seconds> <command…>
  local what=$1 limit=$2 i; shift 2
  for ((i = 0; i < limit * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  fail "$what not ready after ${limit}s (see $LOGS)"
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# with_lock <name> <command…>: one infra.sh at a time runs the command (test runs start the tests'
# broker on demand, and two of them may ask at once).
with_lock() {
  local name=$1; shift
  mkdir -p "$RUN"
  (
    exec 9>"$RUN/$name.lock"
    flock -w 180 9 || fail "$name: another infra.sh holds $RUN/$name.lock"
    "$@"
  )
}

# Before starting a server: its port must be free (another checkout's servers are a common culprit).
ensure_port_free() { # ensure_port_free <component> <port>
  if port_open "$2"; then
    fail "$1: port $2 is in use by another process; stop it (another checkout? run its infra/infra.sh down) or change infra/infra.env"
  fi
}

start_detached() { # start_detached <pidfile> <logfile> <command…>
  local pidfile=$1 logfile=$2; shift 2
  # Without fd 9 (with_lock's): a server holding it would hold the lock for as long as it runs.
  setsid nohup "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
  echo $! >"$pidfile"
}

stop_pidfile() { # stop_pidfile <name> <pidfile>
  local name=$1 pidfile=$2 pid i
  if ! pid_alive "$pidfile"; then rm -f "$pidfile"; return 0; fi
  pid=$(cat "$pidfile")
  say "stopping $name (pid $pid)"
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

# ---------------------------------------------------------------- packages
PG_BIN=""
find_pg_bin() { PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true); }

ensure_packages() {
  find_pg_bin
  local missing=()
  [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] || missing+=(postgresql)
  command -v mariadbd >/dev/null || missing+=(mariadb-server)
  command -v kcat >/dev/null || missing+=(kcat)
  command -v pdftotext >/dev/null || missing+=(poppler-utils)
  # The launcher takes a draining or dead app's sidecar out of the SQLite name resolution.
  command -v sqlite3 >/dev/null || missing+=(sqlite3)
  # daprd is built with infra/daprd/patches applied.
  command -v patch >/dev/null || missing+=(patch)
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  # infra/kafka/KafkaAccess.java runs as a source file: the runtime needs its compiler module
  # (Debian's JRE image has it; a runtime without it gets the JDK).
  if command -v java >/dev/null && ! java --list-modules 2>/dev/null | grep -q '^jdk.compiler@'; then missing+=(openjdk-17-jdk-headless); fi
  command -v mvn >/dev/null || missing+=(maven)
  # Zipkin's readiness is its /health answer.
  command -v curl >/dev/null || missing+=(curl)
  # The clinic app's browser tests drive Debian's Chromium (playwright-core cannot download a browser here).
  command -v chromium >/dev/null || missing+=(chromium fonts-dejavu-core)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]} (~20 s)"
    local sudo=""
    is_root || sudo=sudo
    # policy-rc.d 101 while installing: the packages must not start system-wide servers; we run our own.
    local policy_added=""
    if is_root && [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_added=1
    fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ -z "$policy_added" ] || rm -f /usr/sbin/policy-rc.d
    find_pg_bin
  fi
  command -v go >/dev/null || fail "Go (1.24+) is required to build daprd and FerretDB"
}

# ---------------------------------------------------------------- Go binaries
input_hash() { # hash of a Go module's inputs (its patches too) and build flags: rebuild only when they change
  local dir=$1; shift
  { (cd "$dir" && cat go.mod go.sum ./*.go && if [ -f build.sh ]; then cat build.sh; fi && if [ -d patches ]; then find patches -name '*.patch' | sort | xargs cat; fi); echo "$@"; } | sha256sum | cut -c1-16
}

# build_go <name> <module dir> <build tags> [ldflags…]; BUILD_PACKAGE: another package than the
# module's own; BUILD_SCRIPT: the module's own recipe (called as <script> <name> <output>) instead of go build.
build_go() {
  local name=$1 dir=$2 tags=$3 hash out start pid pkg=${BUILD_PACKAGE:-.}
  shift 3
  local ldflags="-s -w $*"
  # The package joins the key only when it is not the module's own (keeps existing cache keys).
  if [ "$pkg" = . ]; then hash=$(input_hash "$dir" "$tags" "$ldflags"); else hash=$(input_hash "$dir" "$tags" "$ldflags" "$pkg"); fi
  out="$CACHE/bin/$name-$hash"
  mkdir -p "$CACHE/bin" "$BIN"
  if [ ! -x "$out" ]; then
    start=$SECONDS
    # A scripted build lets go build fetch what it compiles: `go mod download` also asks for every
    # module's .info, which the proxy refuses for some versions whose code it serves (etcd server 3.5.30).
    if [ -z "${BUILD_SCRIPT:-}" ]; then
      say "$name: downloading Go modules (cold: up to a few minutes)"
      (cd "$dir" && go mod download)
    fi
    say "$name: compiling (cold: daprd ~5 min on 2 cores, FerretDB ~1.5 min; warm: seconds)"
    if [ -n "${BUILD_SCRIPT:-}" ]; then
      PATCHED_DIR="$CACHE/patched" bash "$BUILD_SCRIPT" "$name" "$out.tmp" &
    else
      (cd "$dir" && CGO_ENABLED=0 go build -tags "$tags" -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg") &
    fi
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
      sleep 15
      kill -0 "$pid" 2>/dev/null && say "$name: still compiling ($((SECONDS - start)) s)"
    done
    wait "$pid" || fail "$name build failed"
    mv "$out.tmp" "$out"
    say "$name: built in $((SECONDS - start)) s"
  fi
  ln -sfn "$out" "$BIN/$name"
}

# daprd, Sentry and the scheduler: infra/daprd/build.sh, the recipe the daprd image uses too,
# applies infra/daprd/patches (changes to dapr and components-contrib not released upstream; each
# patch says why) and stamps the version go.mod requires.
build_dapr() { BUILD_SCRIPT="$ROOT/infra/daprd/build.sh" build_go "$1" "$ROOT/infra/daprd" "" "$1"; }
build_daprd() {
  build_dapr daprd
  # The layout the Dapr CLI looks for (<DAPR_RUNTIME_PATH>/.dapr/bin/daprd): `dapr run -f` runs
  # this build, through a launcher giving each sidecar its own Kafka password (the `events`
  # component's envRef): the CLI hands all its sidecars the same, its own, environment.
  mkdir -p "$STATE/.dapr/bin"
  rm -f "$STATE/.dapr/bin/daprd"
  cat >"$STATE/.dapr/bin/daprd" <<EOF
#!/usr/bin/env bash
# Written by infra/infra.sh: daprd with the Kafka password of the app it serves (--app-id).
app_id="" previous=""
for arg in "\$@"; do
  [ "\$previous" != --app-id ] || app_id=\$arg
  previous=\$arg
done
if [ -n "\$app_id" ] && [ -f "$KAFKA_CREDENTIALS" ]; then
  KAFKA_SASL_PASSWORD=\$(sed -n "s/^\$app_id=//p" "$KAFKA_CREDENTIALS" | head -n 1)
  export KAFKA_SASL_PASSWORD
fi
exec "$BIN/daprd" "\$@"
EOF
  chmod +x "$STATE/.dapr/bin/daprd"
}
build_ferretdb() { build_go ferretdb "$ROOT/infra/ferretdb" ""; }
build_mailpit() { build_go mailpit "$ROOT/infra/mailpit" ""; }
build_sentry() { build_dapr sentry; }
build_scheduler() { build_dapr scheduler; }

# ---------------------------------------------------------------- validators
# Each folder of infra/tools/ with a go.mod is a small Go program (e.g. the Compose
# Specification loader, actionlint), linked as .caregrid/bin/<folder>. Python tools
# (infra/tools/requirements.txt) go into a venv keyed by that file: .caregrid/venv.
build_tools() {
  local dir name hash venv
  command -v kubectl >/dev/null || fail "kubectl is required for the Kubernetes checks (kubectl kustomize): https://kubernetes.io/docs/tasks/tools/"
  for dir in "$ROOT"/infra/tools/*/; do
    [ -f "$dir/go.mod" ] || continue
    name=$(basename "$dir")
    build_go "$name" "${dir%/}" ""
  done
  if [ -f "$ROOT/infra/tools/requirements.txt" ]; then
    hash=$(sha256sum "$ROOT/infra/tools/requirements.txt" | cut -c1-16)
    venv="$CACHE/venv-$hash"
    # A venv cannot be moved (its scripts name their path): built in place, marked when complete.
    if [ ! -f "$venv/.complete" ]; then
      say "python tools (kubernetes-validate, schemathesis): creating a venv ($venv)"
      rm -rf "$venv"
      python3 -m venv "$venv"
      "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/infra/tools/requirements.txt"
      touch "$venv/.complete"
    fi
    ln -sfn "$venv" "$STATE/venv"
  fi
}

# The real Dapr CLI, built from the source archive in ../shared/dapr-cli (beside the clone) by its
# own build.sh, cached by the archive's hash and linked as .caregrid/bin/dapr. Machines without
# that folder skip it (the CLI test then says why it did not run).
build_dapr_cli() {
  local shared="$ROOT/../shared/dapr-cli" archive hash out
  archive=$(ls "$shared"/dapr-cli-*-src.tar.gz 2>/dev/null | head -n 1 || true)
  if [ ! -x "$shared/build.sh" ] || [ -z "$archive" ]; then
    say "dapr CLI: $shared not found, not built (the real-CLI test is skipped)"
    return 0
  fi
  hash=$(sha256sum "$archive" | cut -c1-16)
  out="$CACHE/bin/dapr-cli-$hash"
  mkdir -p "$CACHE/bin" "$BIN"
  if [ ! -x "$out" ]; then
    say "dapr CLI: building from $(basename "$archive") (cold: a few minutes)"
    bash "$shared/build.sh" "$out.tmp" >"$LOGS/dapr-cli-build.log" 2>&1 || fail "dapr CLI build failed (see $LOGS/dapr-cli-build.log)"
    mv "$out.tmp" "$out"
  fi
  ln -sfn "$out" "$BIN/dapr"
}

# ---------------------------------------------------------------- Kafka jars
KAFKA_LIBS=""
fetch_kafka() {
  local hash
  hash=$(sha256sum "$ROOT/infra/kafka/pom.xml" | cut -c1-16)
  KAFKA_LIBS="$CACHE/kafka-$hash/libs"
  if [ ! -f "$KAFKA_LIBS/.complete" ]; then
    say "kafka: resolving Kafka $KAFKA_VERSION jars from Maven Central (~20 s cold)"
    mkdir -p "$KAFKA_LIBS"
    mvn -q -B -Dstyle.color=never -f "$ROOT/infra/kafka/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS"
    touch "$KAFKA_LIBS/.complete"
  fi
}

# ---------------------------------------------------------------- Zipkin jar
# Zipkin's runnable server jar (~131 MB) stays where Maven puts it, the local Maven repository
# (~/.m2, which CI caches as for Kafka's jars); $CACHE keeps only its path, keyed by the pom and
# version, and is re-resolved when the jar is gone.
ZIPKIN_JAR=""
fetch_zipkin() {
  local hash where pid start repo_dir mb
  hash=$({ cat "$ROOT/infra/zipkin/pom.xml"; echo "$ZIPKIN_VERSION"; } | sha256sum | cut -c1-16)
  where="$CACHE/zipkin-$hash.path"
  if [ -f "$where" ] && [ -f "$(cat "$where")" ]; then
    ZIPKIN_JAR=$(cat "$where")
    return 0
  fi
  mkdir -p "$CACHE" "$LOGS"
  say "zipkin: fetching Zipkin $ZIPKIN_VERSION (io.zipkin:zipkin-server, classifier exec, ~131 MB) from Maven Central"
  start=$SECONDS
  mvn -B -Dstyle.color=never -f "$ROOT/infra/zipkin/pom.xml" dependency:build-classpath \
    -Dzipkin.version="$ZIPKIN_VERSION" -Dmdep.outputFile="$where.tmp" >"$LOGS/zipkin-fetch.log" 2>&1 &
  pid=$!
  # Progress: what has arrived in the default local repository so far (Maven's batch mode
  # prints nothing while one file downloads).
  repo_dir="$HOME/.m2/repository/io/zipkin/zipkin-server/$ZIPKIN_VERSION"
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5
    kill -0 "$pid" 2>/dev/null || break
    mb=$(du -sm "$repo_dir" 2>/dev/null | cut -f1 || true)
    say "zipkin: still downloading ($((SECONDS - start)) s${mb:+, $mb of ~131 MB})"
  done
  wait "$pid" || fail "zipkin: Maven could not fetch io.zipkin:zipkin-server:$ZIPKIN_VERSION:exec (see $LOGS/zipkin-fetch.log)"
  [ -f "$(cat "$where.tmp")" ] || fail "zipkin: Maven named no jar (see $LOGS/zipkin-fetch.log)"
  mv "$where.tmp" "$where"
  ZIPKIN_JAR=$(cat "$where")
  say "zipkin: fetched in $((SECONDS - start)) s ($ZIPKIN_JAR)"
}

# ---------------------------------------------------------------- PostgreSQL
pg_data() { echo "$STATE/postgres"; }
pg_running() { [ -f "$(pg_data)/postmaster.pid" ] && as_user postgres "$PG_BIN/pg_ctl" status -D "$(pg_data)" >/dev/null 2>&1; }

up_postgres() {
  local data sock
  data=$(pg_data)
  sock="$RUN/postgres"
  mkdir -p "$sock" "$LOGS"
  if [ ! -f "$data/PG_VERSION" ]; then
    say "postgres: initialising cluster in $data"
    mkdir -p "$data"
    own postgres "$data"
    # Superuser only over the private socket; service roles log in with passwords over TCP.
    as_user postgres "$PG_BIN/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >"$LOGS/postgres-init.log" 2>&1 ||
      fail "initdb failed (see $LOGS/postgres-init.log)"
  fi
  own postgres "$sock"
  chmod 700 "$sock"
  if pg_running; then say "postgres: already running on $CAREGRID_PG_PORT"; return; fi
  ensure_port_free postgres "$CAREGRID_PG_PORT"
  say "postgres: starting on 127.0.0.1:$CAREGRID_PG_PORT"
  touch "$LOGS/postgres.log"
  own postgres "$LOGS/postgres.log"
  as_user postgres "$PG_BIN/pg_ctl" -D "$data" -l "$LOGS/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $CAREGRID_PG_PORT -c unix_socket_directories=$sock -c max_connections=300 -c fsync=off" \
    start >/dev/null || fail "postgres did not start (see $LOGS/postgres.log)"
}

down_postgres() {
  if pg_running; then
    say "stopping postgres"
    as_user postgres "$PG_BIN/pg_ctl" -D "$(pg_data)" -m fast -w stop >/dev/null
  fi
}

# ---------------------------------------------------------------- MariaDB
mysql_user() { if is_root; then echo mysql; else id -un; fi; }
mysql_sock() { echo "$RUN/mysql/mysqld.sock"; }
mysql_pidfile() { echo "$RUN/mysql/mysqld.pid"; }
mysql_running() { mariadb-admin --no-defaults --socket="$(mysql_sock)" -uroot ping >/dev/null 2>&1; }

up_mariadb() {
  local data="$STATE/mysql" user
  user=$(mysql_user)
  mkdir -p "$RUN/mysql" "$LOGS"
  own "$user" "$RUN/mysql"
  chmod 700 "$RUN/mysql"
  if [ ! -d "$data/mysql" ]; then
    say "mariadb: initialising data dir in $data"
    mkdir -p "$data"
    own "$user" "$data"
    # root has no password but is reachable only through the private socket.
    mariadb-install-db --no-defaults --datadir="$data" --user="$user" \
      --auth-root-authentication-method=normal --skip-test-db >"$LOGS/mariadb-init.log" 2>&1 ||
      fail "mariadb-install-db failed (see $LOGS/mariadb-init.log)"
  fi
  if mysql_running; then say "mariadb: already running on $CAREGRID_MYSQL_PORT"; return; fi
  ensure_port_free mariadb "$CAREGRID_MYSQL_PORT"
  say "mariadb: starting on 127.0.0.1:$CAREGRID_MYSQL_PORT"
  touch "$LOGS/mariadb.log"
  own "$user" "$LOGS/mariadb.log"
  local args=(--no-defaults --datadir="$data" --bind-address=127.0.0.1 --port="$CAREGRID_MYSQL_PORT"
    --socket="$(mysql_sock)" --pid-file="$(mysql_pidfile)" --log-error="$LOGS/mariadb.log"
    --max-connections=300 --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci
    --innodb-flush-log-at-trx-commit=2)
  is_root && args+=(--user=mysql)
  setsid nohup mariadbd "${args[@]}" >>"$LOGS/mariadb.log" 2>&1 </dev/null &
  wait_for mariadb 60 mysql_running
}

down_mariadb() {
  if mysql_running; then
    say "stopping mariadb"
    mariadb-admin --no-defaults --socket="$(mysql_sock)" -uroot shutdown >/dev/null 2>&1 || true
  fi
}

# ---------------------------------------------------------------- Kafka
# Two brokers from the same jars and configuration: `kafka`, the dev system's (`npm run dev`, the
# Dapr CLI), and `kafka-test`, the tests' own (every sidecar of `npm test`). Beside a running
# `npm run dev`, the tests' events then never reach its consumers (its analytics would count test
# bookings, its billing invoice test payments) and its events never reach the tests'. A broker
# rather than topic names of their own: components, Subscriptions and apps stay as deployed, only
# the sidecars' KAFKA_BROKERS differs, as it does between Compose and Kubernetes.
#
# No client gets in without logging in (infra/kafka/server.properties.in): every service with its
# own SCRAM user, the admin with PLAIN. The passwords are generated once into
# $KAFKA_CREDENTIALS (`<user>=<password>` lines, owner-only; both brokers and the tests' own share
# it): the launcher and the test stacks hand each sidecar its own (KAFKA_SASL_PASSWORD, the
# `events` component's envRef). infra.sh writes the admin's login for kcat (`kcat -F
# $STATE/kafka-admin.conf`) and for Kafka's Java tools (`--command-config
# $STATE/kafka-admin.properties`).
KAFKA_CREDENTIALS=$STATE/kafka-credentials
kafka_admin_password() {
  [ -f "$KAFKA_CREDENTIALS" ] && sed -n 's/^admin=//p' "$KAFKA_CREDENTIALS" | head -n 1
}
ensure_kafka_credentials() {
  local password
  password=$(kafka_admin_password || true)
  (
    umask 077
    if [ -z "$password" ]; then
      password=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
      echo "admin=$password" >>"$KAFKA_CREDENTIALS"
    fi
    printf 'security.protocol=SASL_PLAINTEXT\nsasl.mechanisms=PLAIN\nsasl.username=admin\nsasl.password=%s\n' \
      "$password" >"$STATE/kafka-admin.conf"
    printf 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="%s";\n' \
      "$password" >"$STATE/kafka-admin.properties"
  )
}

kafka_ready() { # kafka_ready [port]: the broker answers the admin's metadata request
  local port=${1:-$CAREGRID_KAFKA_PORT}
  port_open "$port" && [ -f "$STATE/kafka-admin.conf" ] &&
    kcat -F "$STATE/kafka-admin.conf" -b "127.0.0.1:$port" -L -m 2 >/dev/null 2>&1
}

# kafka_access <name> <port>: the SCRAM users, topics and ACLs the `events` component's scopes
# call for (infra/kafka/KafkaAccess.java, idempotent). Skipped when neither the component nor the
# credentials changed since it last ran against this broker's data.
run_kafka_access() { # run_kafka_access <port>
  java -Dlog4j2.configurationFile="$ROOT/infra/kafka/log4j2.xml" -cp "$KAFKA_LIBS/*" "$ROOT/infra/kafka/KafkaAccess.java" \
    "127.0.0.1:$1" "$ROOT/components/pubsub-events.yaml" "$KAFKA_CREDENTIALS"
}
kafka_access() {
  local name=$1 port=$2 stamp="$STATE/$1/access.stamp" hash
  hash=$(cat "$ROOT/components/pubsub-events.yaml" "$ROOT/infra/kafka/KafkaAccess.java" "$KAFKA_CREDENTIALS" | sha256sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then return 0; fi
  run_kafka_access "$port" >"$LOGS/$name-access.log" 2>&1 || fail "$name: users and ACLs not written (see $LOGS/$name-access.log)"
  say "$name: $(grep '^kafka access' "$LOGS/$name-access.log" || true)"
  # The credentials file may have gained users: hash what it holds now.
  cat "$ROOT/components/pubsub-events.yaml" "$ROOT/infra/kafka/KafkaAccess.java" "$KAFKA_CREDENTIALS" | sha256sum | cut -c1-16 >"$stamp"
}

# start_kafka <name> <port> <controller port> <JVM heap flags…>: data in $STATE/<name>, log
# $LOGS/<name>.log, pid $RUN/<name>.pid.
start_kafka() {
  local name=$1 port=$2 controller_port=$3
  shift 3
  fetch_kafka
  local dir="$STATE/$name" props pidfile="$RUN/$name.pid" java_cmd
  props="$dir/server.properties"
  mkdir -p "$dir/data" "$RUN" "$LOGS"
  ensure_kafka_credentials
  (
    umask 077
    sed -e "s#@PORT@#$port#g" -e "s#@CONTROLLER_PORT@#$controller_port#g" -e "s#@DATA_DIR@#$dir/data#g" \
      -e "s#@ADMIN_PASSWORD@#$(kafka_admin_password)#g" "$ROOT/infra/kafka/server.properties.in" >"$props.next"
  )
  # A broker running an older configuration (e.g. the plaintext one without authentication)
  # restarts with this one; its data stays.
  if pid_alive "$pidfile" && ! cmp -s "$props.next" "$props"; then
    say "$name: configuration changed, restarting"
    stop_pidfile "$name" "$pidfile"
    rm -f "$dir/access.stamp"
  fi
  mv "$props.next" "$props"
  java_cmd=(java "$@" -Dlog4j2.configurationFile="$ROOT/infra/kafka/log4j2.xml" -cp "$KAFKA_LIBS/*")
  if [ ! -f "$dir/data/meta.properties" ]; then
    say "$name: formatting KRaft storage"
    rm -f "$dir/access.stamp"
    local cluster_id
    cluster_id=$("${java_cmd[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    "${java_cmd[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$props" >"$LOGS/$name-format.log" 2>&1 ||
      fail "$name storage format failed (see $LOGS/$name-format.log)"
  fi
  if pid_alive "$pidfile"; then
    wait_for "$name" 60 kafka_ready "$port"
    say "$name: already running on $port"
  else
    ensure_port_free "$name" "$port"
    say "$name: starting on 127.0.0.1:$port"
    start_detached "$pidfile" "$LOGS/$name.log" "${java_cmd[@]}" kafka.Kafka "$props"
    wait_for "$name" 90 kafka_ready "$port"
  fi
  kafka_access "$name" "$port"
}

up_kafka() { start_kafka kafka "$CAREGRID_KAFKA_PORT" "$CAREGRID_KAFKA_CONTROLLER_PORT" -Xms256m -Xmx512m; }
down_kafka() { stop_pidfile kafka "$RUN/kafka.pid"; }
# A smaller heap: the tests' broker holds short-lived topics and groups, no long history. Locked:
# test runs start it on demand (packages/devkit/src/kafka-groups.ts), maybe two at once.
up_kafka-test() {
  with_lock kafka-test start_kafka kafka-test "$CAREGRID_TEST_KAFKA_PORT" "$CAREGRID_TEST_KAFKA_CONTROLLER_PORT" -Xms128m -Xmx384m
}
down_kafka-test() { stop_pidfile kafka-test "$RUN/kafka-test.pid"; }

# ---------------------------------------------------------------- FerretDB
ferret_pidfile() { echo "$RUN/ferretdb.pid"; }

up_ferretdb() {
  build_ferretdb
  mkdir -p "$STATE/ferretdb" "$RUN" "$LOGS"
  if pid_alive "$(ferret_pidfile)" && port_open "$CAREGRID_MONGO_PORT"; then
    say "ferretdb: already running on $CAREGRID_MONGO_PORT"
    return
  fi
  ensure_port_free ferretdb "$CAREGRID_MONGO_PORT"
  say "ferretdb: starting on 127.0.0.1:$CAREGRID_MONGO_PORT"
  start_detached "$(ferret_pidfile)" "$LOGS/ferretdb.log" "$BIN/ferretdb" \
    --listen-addr="127.0.0.1:$CAREGRID_MONGO_PORT" --sqlite-dir="$STATE/ferretdb"
  wait_for ferretdb 30 port_open "$CAREGRID_MONGO_PORT"
}

down_ferretdb() { stop_pidfile ferretdb "$(ferret_pidfile)"; }

# ---------------------------------------------------------------- FerretDB for the audit trail
# A second FerretDB, on PostgreSQL (database caregrid_audit), where a client signs in (PLAIN) as a
# PostgreSQL role and its GRANTs are what it may do: the trail's writer may only insert and read,
# retention may delete entries and move checkpoints, the owner makes the layout
# (packages/devkit/src/audit-trail.ts; docs/audit-roles.md). Its URL names no user, so a client
# without credentials gets nothing. Passwords are made once ($AUDIT_CREDENTIALS, owner-only):
# FerretDB keeps a pool per user and password, and test stacks share the server.
AUDIT_CREDENTIALS=$STATE/audit-credentials
AUDIT_ROLES=(owner writer retention)
ferret_audit_pidfile() { echo "$RUN/ferretdb-audit.pid"; }
audit_password() { sed -n "s/^$1=//p" "$AUDIT_CREDENTIALS" 2>/dev/null | head -n 1; }
ensure_audit_credentials() {
  local role
  (
    umask 077
    for role in "${AUDIT_ROLES[@]}"; do
      [ -n "$(audit_password "$role")" ] ||
        echo "$role=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')" >>"$AUDIT_CREDENTIALS"
    done
  )
}
audit_psql() { # audit_psql <database>: SQL from stdin, as the superuser over the private socket
  as_user postgres "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN/postgres" -p "$CAREGRID_PG_PORT" -U postgres -d "$1" >/dev/null
}
ensure_audit_roles() {
  local role
  ensure_audit_credentials
  {
    for role in "${AUDIT_ROLES[@]}"; do
      printf "SELECT format('CREATE ROLE caregrid_audit_%s LOGIN') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'caregrid_audit_%s')\\\\gexec\n" "$role" "$role"
      printf "ALTER ROLE caregrid_audit_%s WITH LOGIN PASSWORD '%s';\n" "$role" "$(audit_password "$role")"
    done
    echo "SELECT 'CREATE DATABASE caregrid_audit OWNER caregrid_audit_owner' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'caregrid_audit')\\gexec"
    echo "REVOKE ALL ON DATABASE caregrid_audit FROM PUBLIC;"
    echo "GRANT CONNECT ON DATABASE caregrid_audit TO caregrid_audit_writer, caregrid_audit_retention;"
  } | audit_psql postgres
  # Every schema and table the owner makes (FerretDB makes them as the owner) is readable by both
  # from its first moment: FerretDB loads its list of collections once, from whichever user comes
  # first, and a schema that user cannot read breaks later writes to it until a restart.
  audit_psql caregrid_audit <<'SQL'
REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE caregrid_audit_owner GRANT USAGE ON SCHEMAS TO caregrid_audit_writer, caregrid_audit_retention;
ALTER DEFAULT PRIVILEGES FOR ROLE caregrid_audit_owner GRANT SELECT ON TABLES TO caregrid_audit_writer, caregrid_audit_retention;
SQL
}

up_ferretdb-audit() {
  build_ferretdb
  find_pg_bin
  pg_running || up_postgres
  with_lock audit-roles ensure_audit_roles
  mkdir -p "$RUN" "$LOGS"
  if pid_alive "$(ferret_audit_pidfile)" && port_open "$CAREGRID_AUDIT_MONGO_PORT"; then
    say "ferretdb-audit: already running on $CAREGRID_AUDIT_MONGO_PORT"
    return
  fi
  ensure_port_free ferretdb-audit "$CAREGRID_AUDIT_MONGO_PORT"
  say "ferretdb-audit: starting on 127.0.0.1:$CAREGRID_AUDIT_MONGO_PORT (PostgreSQL database caregrid_audit)"
  start_detached "$(ferret_audit_pidfile)" "$LOGS/ferretdb-audit.log" "$BIN/ferretdb" \
    --listen-addr="127.0.0.1:$CAREGRID_AUDIT_MONGO_PORT" \
    --postgresql-url="postgres://127.0.0.1:$CAREGRID_PG_PORT/caregrid_audit"
  wait_for ferretdb-audit 30 port_open "$CAREGRID_AUDIT_MONGO_PORT"
}

down_ferretdb-audit() { stop_pidfile ferretdb-audit "$(ferret_audit_pidfile)"; }

# daprd is started per app by the launcher and tests; here it is only built.
up_daprd() { build_daprd; }
down_daprd() { :; }

# ---------------------------------------------------------------- Dapr Sentry
# The certificate authority of every sidecar's mTLS identity (SPIFFE X.509, 24 h, renewed by
# daprd). On first start Sentry generates the trust bundle (root ca.crt, issuer.crt/.key) into
# .caregrid/sentry; the launcher hands ca.crt to each daprd as DAPR_TRUST_ANCHORS. Sentry signs
# only for a requester whose token (DAPR_SENTRY_TOKEN_FILE) names its SPIFFE id, signed by the
# key in .caregrid/sentry-auth (its "jwks" validator, infra/sentry/config.yaml; generated once
# here, kept across runs): the launcher mints each sidecar's token, Sentry holds only the public
# jwks.json. Its signing port listens on loopback only. (Sentry 1.18.1 parses but ignores the
# healthz/metrics listen addresses: those two answer on every interface; they hold no secrets.)
sentry_dir() { echo "$STATE/sentry"; }
sentry_auth_dir() { echo "$STATE/sentry-auth"; }
sentry_pidfile() { echo "$RUN/sentry.pid"; }
# Sentry opens its port once the CA is loaded (or generated and stored).
sentry_ready() { port_open "$CAREGRID_SENTRY_PORT" && [ -s "$(sentry_dir)/ca.crt" ]; }

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# The token signing key (Ed25519) and its public JWKS, the one file Sentry reads of it.
ensure_sentry_auth() {
  local dir key x
  dir=$(sentry_auth_dir)
  key=$dir/signing-key.pem
  mkdir -p "$dir"
  chmod 700 "$dir"
  if [ ! -s "$key" ]; then
    say "sentry: generating the sidecars' token signing key ($key)"
    (umask 077 && openssl genpkey -algorithm ed25519 -out "$key.tmp" && mv "$key.tmp" "$key")
  fi
  x=$(openssl pkey -in "$key" -pubout -outform DER | tail -c 32 | b64url)
  printf '{"keys":[{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","use":"sig","kid":"%s","x":"%s"}]}\n' \
    "$(sentry_token_kid)" "$x" >"$dir/jwks.json.tmp"
  mv "$dir/jwks.json.tmp" "$dir/jwks.json"
}
# The key's id: the first 16 characters of its public key (Sentry looks the key up by it).
sentry_token_kid() { openssl pkey -in "$(sentry_auth_dir)/signing-key.pem" -pubout -outform DER | tail -c 32 | b64url | cut -c1-16; }

mint_sentry_token() { # mint_sentry_token <spiffe-id> <file>: a token for that requester only
  local key signing header payload
  key=$(sentry_auth_dir)/signing-key.pem
  signing=$(mktemp)
  header=$(printf '{"alg":"EdDSA","typ":"JWT","kid":"%s"}' "$(sentry_token_kid)" | b64url)
  payload=$(printf '{"aud":"%s","sub":"%s"}' "$CAREGRID_SENTRY_AUDIENCE" "$1" | b64url)
  printf '%s.%s' "$header" "$payload" >"$signing"
  (umask 077 && printf '%s.%s.%s' "$header" "$payload" \
    "$(openssl pkeyutl -sign -inkey "$key" -rawin -in "$signing" | b64url)" >"$2.tmp")
  rm -f "$signing"
  mv "$2.tmp" "$2"
}

# What a running server was started with (its configuration and keys), stamped with its pid: `up`
# restarts a server started otherwise (by an older checkout), so the machine converges on this one.
started_with() { cat "$@" | sha256sum | cut -c1-16; }
stamp_start() { echo "$(cat "$RUN/$1.pid") $2" >"$RUN/$1.started-with"; } # stamp_start <name> <fingerprint>
start_matches() { [ "$(cat "$RUN/$1.started-with" 2>/dev/null)" = "$(cat "$RUN/$1.pid") $2" ]; } # start_matches <name> <fingerprint>

sentry_fingerprint() { started_with "$ROOT/infra/sentry/config.yaml" "$(sentry_auth_dir)/jwks.json"; }

start_sentry_on() { # start_sentry_on <name> <port> <healthz port> <metrics port>
  # Its working directory holds jwks.json, the relative `source` of the config's jwks validator;
  # without NAMESPACE its id is CAREGRID_SENTRY_AUDIENCE.
  (cd "$(sentry_auth_dir)" && start_detached "$RUN/$1.pid" "$LOGS/$1.log" env -u NAMESPACE "$BIN/sentry" \
    --config="$ROOT/infra/sentry/config.yaml" --issuer-credentials="$(sentry_dir)" \
    --listen-address=127.0.0.1 --port="$2" \
    --healthz-listen-address=127.0.0.1 --healthz-port="$3" \
    --metrics-listen-address=127.0.0.1 --metrics-port="$4")
  stamp_start "$1" "$(sentry_fingerprint)"
}

up_sentry() {
  build_sentry
  mkdir -p "$(sentry_dir)" "$RUN" "$LOGS"
  chmod 700 "$(sentry_dir)"
  ensure_sentry_auth
  if pid_alive "$(sentry_pidfile)" && sentry_ready; then
    if start_matches sentry "$(sentry_fingerprint)"; then
      say "sentry: already running on $CAREGRID_SENTRY_PORT"
      return
    fi
    say "sentry: running with another configuration or token key: restarting it"
    down_sentry
  fi
  ensure_port_free sentry "$CAREGRID_SENTRY_PORT"
  say "sentry: starting on 127.0.0.1:$CAREGRID_SENTRY_PORT (trust bundle in $(sentry_dir))"
  start_sentry_on sentry "$CAREGRID_SENTRY_PORT" "$CAREGRID_SENTRY_HEALTHZ_PORT" "$CAREGRID_SENTRY_METRICS_PORT"
  wait_for sentry 30 sentry_ready
}

down_sentry() { stop_pidfile sentry "$(sentry_pidfile)"; }

# The Dapr CLI's Sentry (see CAREGRID_SENTRY_CLI_PORT): the same binary, trust bundle and tokens.
sentry_cli_pidfile() { echo "$RUN/sentry-cli.pid"; }
up_sentry-cli() {
  up_sentry
  if pid_alive "$(sentry_cli_pidfile)" && port_open "$CAREGRID_SENTRY_CLI_PORT"; then
    if start_matches sentry-cli "$(sentry_fingerprint)"; then
      say "sentry-cli: already running on $CAREGRID_SENTRY_CLI_PORT"
      return
    fi
    say "sentry-cli: running with another configuration or token key: restarting it"
    down_sentry-cli
  fi
  ensure_port_free sentry-cli "$CAREGRID_SENTRY_CLI_PORT"
  say "sentry-cli: starting on 127.0.0.1:$CAREGRID_SENTRY_CLI_PORT (for dapr run -f; same trust bundle)"
  start_sentry_on sentry-cli "$CAREGRID_SENTRY_CLI_PORT" "$CAREGRID_SENTRY_CLI_HEALTHZ_PORT" "$CAREGRID_SENTRY_CLI_METRICS_PORT"
  wait_for sentry-cli 30 port_open "$CAREGRID_SENTRY_CLI_PORT"
}
down_sentry-cli() { stop_pidfile sentry-cli "$(sentry_cli_pidfile)"; }

# ---------------------------------------------------------------- Dapr scheduler
# The Jobs API's backend (and workflows', unused here): daprd hands it jobs over mTLS, it keeps
# them in its embedded etcd under .caregrid/scheduler and calls the sidecar back when one is due.
# Its identity comes from our Sentry (same trust bundle, control-plane trust domain `localhost`
# and namespace `default`, daprd's defaults; its token names spiffe://localhost/ns/default/dapr-scheduler);
# every port on loopback.
scheduler_dir() { echo "$STATE/scheduler"; }
scheduler_token() { echo "$(sentry_auth_dir)/tokens/dapr-scheduler.jwt"; }
scheduler_pidfile() { echo "$RUN/scheduler.pid"; }
scheduler_ready() { curl -fsS --max-time 2 "http://127.0.0.1:$CAREGRID_SCHEDULER_HEALTHZ_PORT/healthz" >/dev/null 2>&1; }

up_scheduler() {
  up_sentry
  build_scheduler
  mkdir -p "$(scheduler_dir)" "$RUN" "$LOGS"
  chmod 700 "$(scheduler_dir)"
  mkdir -p "$(dirname "$(scheduler_token)")"
  mint_sentry_token spiffe://localhost/ns/default/dapr-scheduler "$(scheduler_token)"
  if pid_alive "$(scheduler_pidfile)"; then
    if start_matches scheduler "$(started_with "$(scheduler_token)")"; then
      wait_for scheduler 60 scheduler_ready
      say "scheduler: already running on $CAREGRID_SCHEDULER_PORT"
      return
    fi
    # Without this token it could not renew its certificate from Sentry.
    say "scheduler: running without its current Sentry token: restarting it"
    down_scheduler
  fi
  ensure_port_free scheduler "$CAREGRID_SCHEDULER_PORT"
  ensure_port_free scheduler-etcd "$CAREGRID_SCHEDULER_ETCD_CLIENT_PORT"
  say "scheduler: starting on 127.0.0.1:$CAREGRID_SCHEDULER_PORT (jobs in $(scheduler_dir))"
  start_detached "$(scheduler_pidfile)" "$LOGS/scheduler.log" env -u NAMESPACE \
    DAPR_SENTRY_TOKEN_FILE="$(scheduler_token)" "$BIN/scheduler" \
    --mode=standalone --id=dapr-scheduler-server-0 \
    --listen-address=127.0.0.1 --port="$CAREGRID_SCHEDULER_PORT" \
    --override-broadcast-host-port="127.0.0.1:$CAREGRID_SCHEDULER_PORT" \
    --healthz-listen-address=127.0.0.1 --healthz-port="$CAREGRID_SCHEDULER_HEALTHZ_PORT" \
    --metrics-listen-address=127.0.0.1 --metrics-port="$CAREGRID_SCHEDULER_METRICS_PORT" \
    --etcd-data-dir="$(scheduler_dir)/etcd" \
    --etcd-client-listen-address=127.0.0.1 --etcd-client-port="$CAREGRID_SCHEDULER_ETCD_CLIENT_PORT" \
    --etcd-initial-cluster="dapr-scheduler-server-0=http://127.0.0.1:$CAREGRID_SCHEDULER_ETCD_PEER_PORT" \
    --tls-enabled --sentry-address="127.0.0.1:$CAREGRID_SENTRY_PORT" \
    --trust-anchors-file="$(sentry_dir)/ca.crt" --trust-domain=localhost
  stamp_start scheduler "$(started_with "$(scheduler_token)")"
  wait_for scheduler 60 scheduler_ready
}
down_scheduler() { stop_pidfile scheduler "$(scheduler_pidfile)"; }

# ---------------------------------------------------------------- Zipkin
# The trace backend of the local run and the tests: daprd (dapr/config, tracing.zipkin) and the
# apps (OTEL_EXPORTER_ZIPKIN_ENDPOINT) send their spans to /api/v2/spans; the UI is /zipkin/.
# In memory only, and at most ZIPKIN_MAX_SPANS spans (the oldest traces go first), so a long
# test run cannot outgrow the heap; a restart forgets everything.
ZIPKIN_MAX_SPANS=50000
zipkin_pidfile() { echo "$RUN/zipkin.pid"; }
zipkin_url() { echo "http://127.0.0.1:$CAREGRID_ZIPKIN_PORT"; }
zipkin_ready() { curl -fsS --max-time 2 "$(zipkin_url)/health" >/dev/null 2>&1; }

up_zipkin() {
  fetch_zipkin
  mkdir -p "$RUN" "$LOGS"
  if pid_alive "$(zipkin_pidfile)"; then
    wait_for zipkin 90 zipkin_ready
    say "zipkin: already running on $CAREGRID_ZIPKIN_PORT"
    return
  fi
  ensure_port_free zipkin "$CAREGRID_ZIPKIN_PORT"
  say "zipkin: starting on 127.0.0.1:$CAREGRID_ZIPKIN_PORT (in memory, the last $ZIPKIN_MAX_SPANS spans)"
  # Armeria's port list is replaced, not merged, by a setting: address, port and protocol together.
  start_detached "$(zipkin_pidfile)" "$LOGS/zipkin.log" env STORAGE_TYPE=mem MEM_MAX_SPANS="$ZIPKIN_MAX_SPANS" \
    java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -jar "$ZIPKIN_JAR" \
    "--armeria.ports[0].ip=127.0.0.1" "--armeria.ports[0].port=$CAREGRID_ZIPKIN_PORT" "--armeria.ports[0].protocols[0]=http"
  wait_for zipkin 90 zipkin_ready
}

down_zipkin() { stop_pidfile zipkin "$(zipkin_pidfile)"; }

# ---------------------------------------------------------------- Mailpit
# The mail server of the SMTP output binding `mail` (components/mail.yaml): it accepts every
# message and keeps the last 5000 in .caregrid/mailpit for its HTTP API (/api/v1/messages); no
# web UI (upstream builds it with npm, it is not in the Go module). Any SMTP user and password is
# accepted, and the user becomes the message's tag: the binding's credentials come from the secret
# store, and a test can see they arrived. Chaos is enabled: PUT /api/v1/chaos makes SMTP answer an
# error (e.g. 451) on demand, for tests of a failing mail server; it fails nothing until set.
mailpit_dir() { echo "$STATE/mailpit"; }
mailpit_pidfile() { echo "$RUN/mailpit.pid"; }
mailpit_url() { echo "http://127.0.0.1:$CAREGRID_MAILPIT_HTTP_PORT"; }
mailpit_ready() { curl -fsS --max-time 2 "$(mailpit_url)/readyz" >/dev/null 2>&1; }

up_mailpit() {
  build_mailpit
  mkdir -p "$(mailpit_dir)" "$RUN" "$LOGS"
  chmod 700 "$(mailpit_dir)"
  if pid_alive "$(mailpit_pidfile)"; then
    wait_for mailpit 30 mailpit_ready
    say "mailpit: already running on $CAREGRID_MAILPIT_SMTP_PORT (SMTP), $CAREGRID_MAILPIT_HTTP_PORT (API)"
    return
  fi
  ensure_port_free mailpit "$CAREGRID_MAILPIT_SMTP_PORT"
  ensure_port_free mailpit-api "$CAREGRID_MAILPIT_HTTP_PORT"
  say "mailpit: starting on 127.0.0.1:$CAREGRID_MAILPIT_SMTP_PORT (SMTP), API $(mailpit_url)/api/v1/"
  start_detached "$(mailpit_pidfile)" "$LOGS/mailpit.log" "$BIN/mailpit" \
    --smtp="127.0.0.1:$CAREGRID_MAILPIT_SMTP_PORT" --listen="127.0.0.1:$CAREGRID_MAILPIT_HTTP_PORT" \
    --database="$(mailpit_dir)/mailpit.db" --max=5000 --disable-version-check --smtp-disable-rdns \
    --smtp-auth-accept-any --smtp-auth-allow-insecure --tags-username --enable-chaos
  wait_for mailpit 30 mailpit_ready
}

down_mailpit() { stop_pidfile mailpit "$(mailpit_pidfile)"; }

# ---------------------------------------------------------------- status
status() {
  find_pg_bin
  local fmt='%-14s %-18s %-8s %s\n'
  # shellcheck disable=SC2059
  printf "$fmt" COMPONENT ADDRESS STATE DETAIL
  local s
  s=down; [ -n "$PG_BIN" ] && pg_running && s=up
  # shellcheck disable=SC2059
  printf "$fmt" postgres "127.0.0.1:$CAREGRID_PG_PORT" "$s" "data $(pg_data)"
  s=down; command -v mariadb-admin >/dev/null && mysql_running && s=up
  # shellcheck disable=SC2059
  printf "$fmt" mariadb "127.0.0.1:$CAREGRID_MYSQL_PORT" "$s" "data $STATE/mysql"
  s=down; kafka_ready && s=up
  # shellcheck disable=SC2059
  printf "$fmt" kafka "127.0.0.1:$CAREGRID_KAFKA_PORT" "$s" "Kafka $KAFKA_VERSION KRaft"
  s=down; kafka_ready "$CAREGRID_TEST_KAFKA_PORT" && s=up
  # shellcheck disable=SC2059
  printf "$fmt" kafka-test "127.0.0.1:$CAREGRID_TEST_KAFKA_PORT" "$s" "the tests' own Kafka (npm run dev never uses it)"
  s=down; port_open "$CAREGRID_MONGO_PORT" && s=up
  # shellcheck disable=SC2059
  printf "$fmt" ferretdb "127.0.0.1:$CAREGRID_MONGO_PORT" "$s" "FerretDB $FERRETDB_VERSION (SQLite)"
  s=down; port_open "$CAREGRID_AUDIT_MONGO_PORT" && s=up
  # shellcheck disable=SC2059
  printf "$fmt" ferretdb-audit "127.0.0.1:$CAREGRID_AUDIT_MONGO_PORT" "$s" "FerretDB $FERRETDB_VERSION (PostgreSQL, roles): the audit trail"
  s=missing; [ -x "$BIN/daprd" ] && s=built
  # shellcheck disable=SC2059
  printf "$fmt" daprd "(per app)" "$s" "daprd $DAPR_VERSION at $BIN/daprd"
  s=down; sentry_ready && s=up
  # shellcheck disable=SC2059
  printf "$fmt" sentry "127.0.0.1:$CAREGRID_SENTRY_PORT" "$s" "Dapr Sentry $DAPR_VERSION (mTLS CA), trust bundle $(sentry_dir)"
  s=down; port_open "$CAREGRID_SENTRY_CLI_PORT" && s=up
  # shellcheck disable=SC2059
  printf "$fmt" sentry-cli "127.0.0.1:$CAREGRID_SENTRY_CLI_PORT" "$s" "the same CA where the Dapr CLI's sidecars look for it"
  s=down; scheduler_ready && s=up
  # shellcheck disable=SC2059
  printf "$fmt" scheduler "127.0.0.1:$CAREGRID_SCHEDULER_PORT" "$s" "Dapr scheduler $DAPR_VERSION (Jobs API), jobs in $(scheduler_dir)"
  s=down; zipkin_ready && s=up
  # shellcheck disable=SC2059
  printf "$fmt" zipkin "127.0.0.1:$CAREGRID_ZIPKIN_PORT" "$s" "Zipkin $ZIPKIN_VERSION (in memory): UI $(zipkin_url)/zipkin/"
  s=down; mailpit_ready && s=up
  # shellcheck disable=SC2059
  printf "$fmt" mailpit "127.0.0.1:$CAREGRID_MAILPIT_SMTP_PORT" "$s" "Mailpit $MAILPIT_VERSION (SMTP), no web UI: API $(mailpit_url)/api/v1/messages"
  s=missing; [ -x "$BIN/dapr" ] && s=built
  # shellcheck disable=SC2059
  printf "$fmt" dapr-cli "-" "$s" "Dapr CLI at $BIN/dapr (infra/infra.sh tools)"
}

main() {
  local cmd=${1:-status}
  shift || true
  local components=("$@")
  [ ${#components[@]} -gt 0 ] || components=("${ALL_COMPONENTS[@]}")
  [ "${components[*]}" != dev ] || components=("${DEV_COMPONENTS[@]}")
  # .caregrid/dapr holds the sidecars' shared sqlite name-resolution database.
  mkdir -p "$STATE" "$RUN" "$LOGS" "$BIN" "$STATE/dapr"
  case "$cmd" in
    up)
      ensure_packages
      local c
      for c in "${components[@]}"; do "up_$c"; done
      status
      ;;
    down)
      find_pg_bin
      local i
      for ((i = ${#components[@]} - 1; i >= 0; i--)); do "down_${components[$i]}"; done
      ;;
    build)
      ensure_packages
      build_daprd
      build_sentry
      build_scheduler
      build_ferretdb
      build_mailpit
      fetch_kafka
      fetch_zipkin
      ;;
    tools)
      build_tools
      build_dapr_cli
      ;;
    status) status ;;
    # The Kafka jars' classpath, for its admin tools (test stacks place new consumer groups with them).
    kafka-classpath)
      fetch_kafka >&2
      echo "$KAFKA_LIBS/*"
      ;;
    # Users, topics and ACLs on another broker of the same configuration (a test's own, see
    # packages/devkit/src/private-kafka.ts): kafka-access <port>.
    # The Kafka passwords file and the admin's login files, made when missing (a Kafka container's
    # admin password comes from here too, see packages/devkit/src/container-infra.ts).
    kafka-credentials) ensure_kafka_credentials ;;
    kafka-access)
      fetch_kafka >&2
      ensure_kafka_credentials
      run_kafka_access "${components[0]:?usage: infra.sh kafka-access <port>}"
      ;;
    *) fail "usage: infra.sh up|down|status|build|tools|kafka-classpath|kafka-credentials|kafka-access [component…]" ;;
  esac
}

main "$@"
