# Shared by the scripts: find RabbitMQ and Redis, or start them where they are installed.
# Source it; it defines ensure_services and exports HERALD_AMQP__URL and HERALD_REDIS__URL.

export HERALD_AMQP__URL="${HERALD_AMQP__URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
export HERALD_REDIS__URL="${HERALD_REDIS__URL:-redis://127.0.0.1:6379}"

# host and port of a URL like scheme://user:pass@host:port/path
url_host() { local a="${1#*://}"; a="${a%%/*}"; a="${a##*@}"; echo "${a%:*}"; }
url_port() { local a="${1#*://}"; a="${a%%/*}"; a="${a##*@}"; echo "${a##*:}"; }

reachable() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_reachable() {
  local host=$1 port=$2 name=$3 tries=${4:-120}
  for _ in $(seq "$tries"); do
    reachable "$host" "$port" && return 0
    sleep 0.5
  done
  echo "error: $name did not come up on $host:$port" >&2
  return 1
}

missing() {
  cat >&2 <<MSG
error: $1 is not reachable at $2:$3 and $4 is not installed here.
herald's tests need real RabbitMQ and Redis. Either install them (Debian: apt-get install
rabbitmq-server redis-server), or run them with Docker from the repository root:
    docker compose up -d rabbitmq redis
or point HERALD_AMQP__URL / HERALD_REDIS__URL at running ones.
MSG
  exit 1
}

ensure_services() {
  local ahost aport rhost rport
  ahost=$(url_host "$HERALD_AMQP__URL"); aport=$(url_port "$HERALD_AMQP__URL")
  rhost=$(url_host "$HERALD_REDIS__URL"); rport=$(url_port "$HERALD_REDIS__URL")
  if ! reachable "$rhost" "$rport"; then
    command -v redis-server >/dev/null || missing Redis "$rhost" "$rport" redis-server
    echo "starting redis-server on $rhost:$rport (nothing kept on disk)"
    redis-server --daemonize yes --bind "$rhost" --port "$rport" --save "" --appendonly no >/dev/null
    wait_reachable "$rhost" "$rport" Redis
  fi
  if ! reachable "$ahost" "$aport"; then
    command -v rabbitmq-server >/dev/null || missing RabbitMQ "$ahost" "$aport" rabbitmq-server
    echo "starting rabbitmq-server (this takes a few seconds)"
    rabbitmq-server -detached >/dev/null 2>&1 || true
    wait_reachable "$ahost" "$aport" RabbitMQ 240
    command -v rabbitmqctl >/dev/null && rabbitmqctl await_startup >/dev/null 2>&1 || true
  fi
}

# Prints the TOML of an app with HS256 user tokens signed with SECRET and the example permissions
# of the security tests (crates/herald/tests/api/support/security.rs): `news` open to everyone;
# on `orders.*` editors may publish, subscribe, read statuses and cancel, viewers may subscribe,
# and the user `mallory` may do nothing whatever her roles; logged-in users may send and receive
# commands and watch presence everywhere. Any browser origin may call it.
# Usage: secured_app_toml ID API_KEY SECRET >>config.toml
secured_app_toml() {
  cat <<TOML
[[apps]]
id = "$1"
api_key = "$2"
cors_origins = ["*"]

[apps.tokens]
secrets = ["$3"]

[[apps.permissions]]
channel = "news"
role = "NotAuthenticatedUser"
grant = ["*"]

[[apps.permissions]]
channel = "news"
role = "AuthenticatedUser"
grant = ["*"]

[[apps.permissions]]
channel = "orders.*"
role = "editor"
grant = ["publish", "subscribe", "status", "cancel"]

[[apps.permissions]]
channel = "orders.*"
role = "viewer"
grant = ["subscribe"]

[[apps.permissions]]
channel = "orders.*"
user = "mallory"
deny = ["*"]

[[apps.permissions]]
role = "AuthenticatedUser"
grant = ["command", "presence"]
TOML
}
