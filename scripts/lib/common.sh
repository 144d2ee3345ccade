# shellcheck shell=bash
# Shared helpers for scripts/canary-*.sh, test_smoke.sh and test_live_cloud.sh. Source it; do not
# run it. Every setting comes from the environment, with the defaults below in one place.
#
#   CANARY_URL      the provider's base URL                    (http://127.0.0.1:9500)
#   CANARY_TOKEN    bearer token for writes (ADMIN_TOKEN)      (unset)
#   PROVIDER_TOKEN  bearer token for GET /traefik              (unset)
#   SPLIT           split to act on                            (council)
#   STABLE_BACKEND  the split's stable backend (redis fallback) (main)
#   CANARY_BACKEND  the split's canary backend (redis fallback) (canary)
#   KEY_PREFIX      Redis key prefix                           (canary:)
#   REDIS_URL       redis://[user:password@]host:port[/db]     (unset: REDIS_HOST/REDIS_PORT)
#   REDIS_HOST, REDIS_PORT                                     (127.0.0.1, 6379)
#   REDIS_PASSWORD  Redis password when REDIS_URL carries none (unset)
#   REDIS_CLI       the redis-cli command, e.g. "docker compose exec -T redis redis-cli"
#   HTTP_TIMEOUT    seconds for one HTTP request               (5)
#   CANARY_ACTOR    who is acting, recorded in the audit trail ($USER@$(hostname))

: "${CANARY_URL:=http://127.0.0.1:9500}"
: "${SPLIT:=council}"
: "${STABLE_BACKEND:=main}"
: "${CANARY_BACKEND:=canary}"
: "${KEY_PREFIX:=canary:}"
: "${REDIS_HOST:=127.0.0.1}"
: "${REDIS_PORT:=6379}"
: "${HTTP_TIMEOUT:=5}"
CANARY_URL="${CANARY_URL%/}"

# Exit codes shared by the scripts.
readonly EXIT_USAGE=64       # bad arguments or settings
readonly EXIT_UNAVAILABLE=69 # a required service did not answer
readonly EXIT_SOFTWARE=70    # the service answered with an error
readonly EXIT_NOPERM=77      # the token was missing or refused

SCRIPT_NAME="$(basename "$0")"

if [[ -t 2 ]]; then
  _red=$'\e[1;31m' _yellow=$'\e[1;33m' _green=$'\e[32m' _reset=$'\e[0m'
else
  _red='' _yellow='' _green='' _reset=''
fi

info() { printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2; }
ok() { printf '%s%s: %s%s\n' "$_green" "$SCRIPT_NAME" "$*" "$_reset" >&2; }
warn() { printf '%s%s: WARNING: %s%s\n' "$_yellow" "$SCRIPT_NAME" "$*" "$_reset" >&2; }
# die CODE MESSAGE...
die() {
  local code="$1"
  shift
  printf '%s%s: error: %s%s\n' "$_red" "$SCRIPT_NAME" "$*" "$_reset" >&2
  exit "$code"
}
# loud MESSAGE...: a framed banner on stderr that nobody scrolls past.
loud() {
  local line='!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!'
  printf '%s%s\n' "$_yellow" "$line" >&2
  local msg
  for msg in "$@"; do printf '!!! %s\n' "$msg" >&2; done
  printf '%s%s\n' "$line" "$_reset" >&2
}

require_cmd() {
  local cmd
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 ||
      die "$EXIT_UNAVAILABLE" "'$cmd' is not installed (Debian/Ubuntu: apt-get install -y $cmd)"
  done
}

# need_value COUNT OPTION [WHAT]: in an argument loop, `need_value $# "$1"` before "$2" is read, so
# an option given last without its value is a usage error naming it ("--reason needs a value"),
# not bash's own "unbound variable".
need_value() { (($1 >= 2)) || die "$EXIT_USAGE" "$2 needs ${3:-a value}"; }

is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }

actor() { printf '%s' "${CANARY_ACTOR:-${USER:-$(id -un 2>/dev/null || echo unknown)}@$(hostname 2>/dev/null || echo host)}"; }

# JSON string literal for an arbitrary shell string.
json_string() { jq -Rn --arg s "$1" '$s'; }

# bearer_header TOKEN: the Authorization header line for curl -H @file; nothing for an empty token.
bearer_header() { [[ -z "$1" ]] || printf 'Authorization: Bearer %s\n' "$1"; }

# api METHOD PATH [JSON_BODY]
# Sets API_STATUS (HTTP status, 000 when nothing answered), API_BODY, API_CURL_ERROR.
api() {
  local method="$1" path="$2" body="${3:-}"
  local out err_file
  out="$(mktemp)"
  err_file="$(mktemp)"
  local -a args=(-sS -o "$out" -w '%{http_code}' -X "$method" --max-time "$HTTP_TIMEOUT"
    -H 'Accept: application/json' -H 'X-Change-Source: cli' -H "X-Actor: $(actor)")
  if [[ -n "$body" ]]; then
    args+=(-H 'Content-Type: application/json' --data-binary "$body")
  fi
  # The token goes through a header file (-H @file), so it never shows in `ps`. The process
  # substitution must sit on curl's own command line: its descriptor closes after that command.
  API_STATUS="$(curl "${args[@]}" -H @<(bearer_header "${CANARY_TOKEN:-}") "$CANARY_URL$path" 2>"$err_file")" || true
  API_BODY="$(cat "$out")"
  API_CURL_ERROR="$(tr '\n' ' ' <"$err_file")"
  rm -f "$out" "$err_file"
  [[ "$API_STATUS" =~ ^[0-9]{3}$ ]] || API_STATUS=000
}

# The `detail` of a problem+json answer, or the raw body.
api_detail() {
  local detail
  detail="$(jq -r '.detail // empty' <<<"$API_BODY" 2>/dev/null || true)"
  printf '%s' "${detail:-$API_BODY}"
}

# api_fail WHAT: exits with a message and code that fit API_STATUS.
api_fail() {
  local what="$1"
  case "$API_STATUS" in
    000) die "$EXIT_UNAVAILABLE" "$what: the provider did not answer at $CANARY_URL ($API_CURL_ERROR). Is it running? Set CANARY_URL if it listens elsewhere." ;;
    401 | 403) die "$EXIT_NOPERM" "$what: token refused (HTTP $API_STATUS): $(api_detail). Set CANARY_TOKEN to the provider's ADMIN_TOKEN." ;;
    404) die "$EXIT_USAGE" "$what: HTTP 404: $(api_detail). Set SPLIT to a split the provider serves." ;;
    4??) die "$EXIT_USAGE" "$what: refused (HTTP $API_STATUS): $(api_detail)" ;;
    *) die "$EXIT_SOFTWARE" "$what: HTTP $API_STATUS from $CANARY_URL: $(api_detail)" ;;
  esac
}

# "main 75 %, canary 25 %" from a split status answer.
shares_line() {
  jq -r '(.shares // {}) | to_entries | map("\(.key) \(.value) %") | join(", ")' <<<"$1" 2>/dev/null || true
}

weights_key() { printf '%s' "${KEY_PREFIX}weights:${SPLIT}"; }

# redis_init: picks the redis-cli command (REDIS_CLI, REDIS_URL or REDIS_HOST/REDIS_PORT) and checks
# that it exists. Call it once before `redis_call`. A password from REDIS_URL (or REDIS_PASSWORD)
# goes through REDISCLI_AUTH, never on the command line: it stays out of `ps`, redis-cli prints no
# warning, and `redis://:password@host` works (redis-cli -u rejects an empty user name).
redis_init() {
  REDIS_AUTH="${REDIS_PASSWORD:-}"
  if [[ -n "${REDIS_CLI:-}" ]]; then
    read -r -a REDIS_CMD <<<"$REDIS_CLI"
  elif [[ -n "${REDIS_URL:-}" ]]; then
    local re='^(rediss?)://(([^:@/]*)(:([^@/]*))?@)?([^:/?]+|\[[^]]+\])(:([0-9]+))?(/([0-9]+))?/?$'
    [[ "$REDIS_URL" =~ $re ]] ||
      die "$EXIT_USAGE" "REDIS_URL is not redis://[user:password@]host[:port][/db]: $(redis_target)"
    local scheme="${BASH_REMATCH[1]}" user="${BASH_REMATCH[3]}" pass="${BASH_REMATCH[5]}"
    local host="${BASH_REMATCH[6]}" port="${BASH_REMATCH[8]:-6379}" db="${BASH_REMATCH[10]:-}"
    host="${host#[}"
    REDIS_CMD=(redis-cli -h "${host%]}" -p "$port")
    [[ -z "$db" ]] || REDIS_CMD+=(-n "$db")
    [[ "$scheme" != rediss ]] || REDIS_CMD+=(--tls)
    [[ -z "$user" ]] || REDIS_CMD+=(--user "$(url_decode "$user")")
    [[ -z "$pass" ]] || REDIS_AUTH="$(url_decode "$pass")"
  else
    REDIS_CMD=(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT")
  fi
  command -v "${REDIS_CMD[0]}" >/dev/null 2>&1 ||
    die "$EXIT_UNAVAILABLE" "'${REDIS_CMD[0]}' is not installed (Debian/Ubuntu: apt-get install -y redis-tools), or set REDIS_CLI"
}

# url_decode TEXT: %XX escapes decoded (a password in REDIS_URL may need them).
url_decode() { printf '%b' "${1//%/\\x}"; }

# Error replies and redis-cli complaints, wherever they appear in its output: redis-cli exits 0 on
# error replies, and prints warnings (e.g. about -a on the command line) before them.
readonly REDIS_ERROR_RE='(^|[[:space:]])(ERR|WRONGTYPE|NOAUTH|WRONGPASS|NOPERM|LOADING|MASTERDOWN|READONLY|MISCONF|BUSY|CLUSTERDOWN|EXECABORT)([[:space:]]|$)|AUTH failed|Could not connect|Connection refused|Unrecoverable error'

# redis_call ARGS...: runs the redis-cli command picked by redis_init. Sets REDIS_REPLY (stdout
# only: stderr is never parsed as a reply), REDIS_STDERR, and REDIS_FAILED (non-empty when
# redis-cli failed or either stream carries an error). Returns 1 when it failed.
redis_call() {
  local err_file rc=0
  err_file="$(mktemp)"
  if [[ -n "$REDIS_AUTH" ]]; then
    REDIS_REPLY="$(REDISCLI_AUTH="$REDIS_AUTH" "${REDIS_CMD[@]}" "$@" 2>"$err_file")" || rc=$?
  else
    REDIS_REPLY="$(env -u REDISCLI_AUTH "${REDIS_CMD[@]}" "$@" 2>"$err_file")" || rc=$?
  fi
  REDIS_STDERR="$(tr '\n' ' ' <"$err_file")"
  rm -f "$err_file"
  REDIS_FAILED=''
  if ((rc != 0)); then
    REDIS_FAILED="redis-cli exited $rc: $(printf '%s %s' "$REDIS_REPLY" "$REDIS_STDERR" | tr '\n' ' ')"
  elif grep -Eq "$REDIS_ERROR_RE" <<<"$REDIS_REPLY $REDIS_STDERR"; then
    REDIS_FAILED="$(grep -Eo "($REDIS_ERROR_RE).*" <<<"$REDIS_REPLY"$'\n'"$REDIS_STDERR" | head -n 3 | tr '\n' ' ')"
  fi
  [[ -z "$REDIS_FAILED" ]]
}

redis_target() {
  if [[ -n "${REDIS_CLI:-}" ]]; then
    printf '%s' "$REDIS_CLI"
  elif [[ -n "${REDIS_URL:-}" ]]; then
    # Never print a password that the URL carries.
    printf '%s' "$REDIS_URL" | sed -E 's#(rediss?://)[^@/]*@#\1***@#'
  else
    printf '%s:%s' "$REDIS_HOST" "$REDIS_PORT"
  fi
}
