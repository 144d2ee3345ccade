#!/usr/bin/env bash
# Emergency rollback: the canary to 0 %, the stable backend to 100 %. Through the provider's API;
# when the API does not answer, straight into Redis with redis-cli, so an operator can always zero
# the canary.
set -euo pipefail
# shellcheck source=lib/common.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<USAGE
Usage: $SCRIPT_NAME [--reason TEXT] [--redis]

Rolls split \$SPLIT back: stable 100 %, every other backend 0 %.

  1. POST \$CANARY_URL/api/v1/splits/\$SPLIT/rollback (validated, audited).
  2. If the provider does not answer (refused, timeout, 5xx), falls back to one atomic
       redis-cli HSET \${KEY_PREFIX}weights:\$SPLIT \$STABLE_BACKEND 100 \$CANARY_BACKEND 0 ...
     and says so loudly. The provider records that write as an external change when it reads it.
     Traefik keeps its last configuration until a provider replica answers again, so bring one
     back (docker compose up -d provider) for the rollback to reach traffic.

  --reason TEXT   why, recorded in the audit trail (default: "canary-rollback.sh")
  --redis         skip the API and write to Redis directly
  -h, --help      this help

Environment:
  CANARY_URL, CANARY_TOKEN (the provider's ADMIN_TOKEN), SPLIT (council)
  Fallback: KEY_PREFIX (canary:), STABLE_BACKEND (main), CANARY_BACKEND (canary),
            REDIS_URL (redis://[user:password@]host:port[/db]), or REDIS_HOST/REDIS_PORT
            (127.0.0.1:6379) with REDIS_PASSWORD, or REDIS_CLI (a command, e.g.
            "docker compose -f compose/docker-compose.yml exec -T redis redis-cli")
  SLACK_WEBHOOK_URL  when set, a message is posted there (failure does not fail the rollback)

Exit codes: 0 rolled back (through the API, or through Redis: see the banner), 64 usage or
refused, 69 neither the provider nor Redis took it, 77 token refused.
USAGE
}

reason='' direct=''
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --redis) direct=1 ;;
    --reason)
      need_value $# "$1"
      reason="$2"
      shift
      ;;
    --reason=*) reason="${1#--reason=}" ;;
    *) die "$EXIT_USAGE" "unexpected argument '$1' (see --help)" ;;
  esac
  shift
done
: "${reason:=$SCRIPT_NAME}"

notify() {
  [[ -n "${SLACK_WEBHOOK_URL:-}" ]] || return 0
  local text
  text="Canary rollback of split $SPLIT: $1 (by $(actor): $reason)"
  curl -sS --max-time 5 -H 'Content-Type: application/json' \
    --data-binary "{\"text\":$(json_string "$text")}" "$SLACK_WEBHOOK_URL" >/dev/null 2>&1 ||
    warn "could not post to SLACK_WEBHOOK_URL (the rollback itself is done)"
}

# One HSET sets the stable backend to 100 and every other field to 0, atomically. Setting the
# stable backend too matters: after a promote it is 0, and all-zero weights are invalid, so the
# provider would keep serving the last valid (canary) weights.
redis_rollback() {
  local key field after
  redis_init
  key="$(weights_key)"
  redis_call HKEYS "$key" ||
    die "$EXIT_UNAVAILABLE" "Redis at $(redis_target) did not answer either (HKEYS $key): $REDIS_FAILED. NOTHING WAS CHANGED. Traefik keeps routing as before."
  local -a args=("$key" "$STABLE_BACKEND" 100 "$CANARY_BACKEND" 0)
  local -A want=(["$STABLE_BACKEND"]=100 ["$CANARY_BACKEND"]=0)
  while IFS= read -r field; do
    [[ -z "$field" || "$field" == "$STABLE_BACKEND" || "$field" == "$CANARY_BACKEND" ]] && continue
    args+=("$field" 0)
    want["$field"]=0
  done <<<"$REDIS_REPLY"
  redis_call HSET "${args[@]}" ||
    die "$EXIT_UNAVAILABLE" "Redis at $(redis_target) refused HSET ${args[*]}: $REDIS_FAILED. Check: redis-cli HGETALL $key"
  # Judged by what the hash holds now, not by redis-cli's output.
  redis_call HGETALL "$key" ||
    die "$EXIT_UNAVAILABLE" "HSET ${args[*]} was sent, but re-reading $key failed: $REDIS_FAILED. Check: redis-cli HGETALL $key"
  local -A got=()
  local value
  while IFS= read -r field && IFS= read -r value; do got["$field"]="$value"; done <<<"$REDIS_REPLY"
  after=''
  for field in "${!got[@]}"; do after+="$field=${got[$field]} "; done
  local bad=''
  for field in "${!want[@]}"; do [[ "${got[$field]:-}" == "${want[$field]}" ]] || bad=1; done
  for field in "${!got[@]}"; do [[ -n "${want[$field]+set}" ]] || bad=1; done
  [[ -z "$bad" ]] ||
    die "$EXIT_UNAVAILABLE" "after HSET ${args[*]}, Redis holds $key: ${after% } - NOT the rollback. Fix it by hand: redis-cli HSET ${args[*]}"
  loud "ROLLED BACK THROUGH REDIS, NOT THROUGH THE PROVIDER'S API." \
    "Wrote: HSET ${args[*]}  (Redis $(redis_target))" \
    "Redis now holds $key: ${after% }" \
    "The provider records this as an external change when it reads it." \
    "Traefik keeps its LAST configuration until a provider replica answers again:" \
    "  bring one back (docker compose up -d provider), then check: canaryctl status $SPLIT"
  notify "written straight to Redis (provider unreachable)"
}

if [[ -n "$direct" ]]; then
  warn "--redis: skipping the provider's API"
  redis_rollback
  exit 0
fi

require_cmd curl jq
[[ -n "${CANARY_TOKEN:-}" ]] ||
  die "$EXIT_NOPERM" "CANARY_TOKEN is not set: export CANARY_TOKEN=<the provider's ADMIN_TOKEN>, or use --redis"

info "rolling back split '$SPLIT' through $CANARY_URL"
api POST "/api/v1/splits/$SPLIT/rollback" "{\"reason\":$(json_string "$reason")}"
case "$API_STATUS" in
  200)
    ok "rolled back: split '$SPLIT' now serves $(shares_line "$API_BODY")"
    notify "done through the API"
    ;;
  000 | 5??)
    if [[ "$API_STATUS" == 000 ]]; then
      why="the provider did not answer at $CANARY_URL ($API_CURL_ERROR)"
    else
      why="the provider answered HTTP $API_STATUS: $(api_detail)"
    fi
    loud "API ROLLBACK FAILED: $why" "FALLING BACK TO redis-cli AT $(redis_target)"
    redis_rollback
    ;;
  *)
    api_fail "rollback $SPLIT (use --redis to write to Redis directly)"
    ;;
esac
