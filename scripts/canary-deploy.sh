#!/usr/bin/env bash
# Deploys the canary the guide's way, in one command: verify canary.env, start the canary overlay,
# wait for its health check, smoke-test it while it has no share (through Traefik with the
# X-Canary: always override), give it its first share (5 % by default), check again, and print
# where to watch. The stack itself (compose/docker-compose.yml) must be up already.
set -euo pipefail
# shellcheck source=lib/common.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRIPTS="$ROOT/scripts"
: "${COMPOSE_DIR:=$ROOT/compose}"
: "${COMPOSE:=docker compose}"
: "${CANARY_ENV_FILE:=$COMPOSE_DIR/canary.env}"
: "${CANARY_HEALTH_URL:=http://127.0.0.1:9001/health}"
: "${HEALTH_TIMEOUT:=120}"
: "${GRAFANA_URL:=http://127.0.0.1:3000}"
: "${PROMETHEUS_URL:=http://127.0.0.1:9090}"
: "${TRAEFIK_DASHBOARD_URL:=http://127.0.0.1:8080}"
: "${TRAEFIK_URL:=http://127.0.0.1:80}"

# dotenv_value FILE VAR: VAR's value in a Compose .env file (last assignment, quotes removed).
dotenv_value() {
  [[ -f "$1" ]] || return 0
  sed -n -E "s/^[[:space:]]*(export[[:space:]]+)?$2[[:space:]]*=[[:space:]]*//p" "$1" | tail -n 1 |
    sed -E 's/^["'\'']|["'\'']$//g'
}
# The tokens the stack was started with, unless the environment sets them: compose/.env holds
# ADMIN_TOKEN (the API's CANARY_TOKEN) and PROVIDER_TOKEN (for the smoke test's GET /traefik).
: "${CANARY_TOKEN:=$(dotenv_value "$COMPOSE_DIR/.env" ADMIN_TOKEN)}"
: "${PROVIDER_TOKEN:=$(dotenv_value "$COMPOSE_DIR/.env" PROVIDER_TOKEN)}"
[[ -n "$CANARY_TOKEN" ]] || unset CANARY_TOKEN
[[ -n "$PROVIDER_TOKEN" ]] || unset PROVIDER_TOKEN
export PROVIDER_TOKEN TRAEFIK_URL

usage() {
  cat <<USAGE
Usage: $SCRIPT_NAME [--percent N] [--env-file FILE] [--skip-smoke] [--force] [--dry-run]

  1. Verifies the canary's env file (the guide's canary.env): every variable present, no API key
     left at your_real_key_here.
  2. Checks the provider: split \$SPLIT is valid and its canary is at 0 % (else --force).
  3. Starts the canary overlay:
       \$COMPOSE -f compose/docker-compose.yml -f compose/docker-compose.canary.yml up -d council-canary
  4. Waits up to HEALTH_TIMEOUT s for \$CANARY_HEALTH_URL to answer 200.
  5. Smoke-tests the canary while it has NO share: scripts/test_smoke.sh, which also sends
     X-Canary: always through Traefik (\$TRAEFIK_URL) and wants the canary to answer. If it fails,
     the canary never gets traffic.
  6. Gives the canary its first share: scripts/canary-scale.sh N (N from --percent, else
     COUNCIL_TRAFFIC_PERCENT in the env file, else 5).
  7. Runs scripts/test_smoke.sh again; if it fails, rolls back with scripts/canary-rollback.sh.
  8. Prints the dashboards to watch and the next commands.

  --percent N       first share for the canary (0-100)
  --env-file FILE   the canary's env file (default compose/canary.env)
  --skip-smoke      skip steps 5 and 7
  --force           deploy even though the canary already has traffic
  --dry-run         check steps 1-2 and print the commands of 3-7 without running them
  -h, --help        this help

Environment: CANARY_URL, CANARY_TOKEN and PROVIDER_TOKEN (default: ADMIN_TOKEN and PROVIDER_TOKEN
  from compose/.env), SPLIT (council), TRAEFIK_URL (http://127.0.0.1:80), TRAEFIK_API_URL (when
  set, the smoke test also reads the split from Traefik's API),
  COMPOSE ("docker compose"), COMPOSE_DIR (compose/), CANARY_HEALTH_URL
  (http://127.0.0.1:9001/health), HEALTH_TIMEOUT (120), COUNCIL_CANARY_IMAGE (the image to run,
  built beforehand: the guide's "docker compose build council"), GRAFANA_URL, PROMETHEUS_URL,
  TRAEFIK_DASHBOARD_URL (for the summary).

Exit codes: 0 deployed, 1 smoke test failed (rolled back), 64 usage or bad env file, 69 provider
or canary unreachable, 70 provider error, 77 token missing or refused.
USAGE
}

percent='' skip_smoke='' force='' dry_run=''
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --percent)
      need_value $# "$1"
      percent="$2"
      shift
      ;;
    --env-file)
      need_value $# "$1" "a path"
      CANARY_ENV_FILE="$2"
      # Compose resolves a relative path against compose/, the operator means their own folder.
      [[ "$CANARY_ENV_FILE" == /* ]] || CANARY_ENV_FILE="$PWD/$CANARY_ENV_FILE"
      shift
      ;;
    --skip-smoke) skip_smoke=1 ;;
    --force) force=1 ;;
    --dry-run) dry_run=1 ;;
    *) die "$EXIT_USAGE" "unexpected argument '$1' (see --help)" ;;
  esac
  shift
done
require_cmd curl jq

step() { printf '\n==> %s\n' "$*" >&2; }
run() {
  if [[ -n "$dry_run" ]]; then
    printf 'would run:' >&2
    printf ' %q' "$@" >&2
    printf '\n' >&2
  else
    "$@"
  fi
}

# --- 1. the canary's env file ---------------------------------------------------------------
step "Verify canary configuration ($CANARY_ENV_FILE)"
[[ -f "$CANARY_ENV_FILE" ]] ||
  die "$EXIT_USAGE" "$CANARY_ENV_FILE does not exist: cp $COMPOSE_DIR/canary.env.example $CANARY_ENV_FILE and fill in the API keys"
env_value() { sed -n -E "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$CANARY_ENV_FILE" | tail -n 1 | sed -E 's/^["'\'']|["'\'']$//g'; }
problems=()
for var in SWARM_COUNCIL_ENABLED COUNCIL_TRAFFIC_PERCENT SWARM_CLOUD_ENABLED SWARM_GPU_PROFILE \
  PYTORCH_CUDA_ALLOC_CONF MISTRAL_API_KEY OPENAI_API_KEY; do
  grep -Eq "^[[:space:]]*${var}[[:space:]]*=" "$CANARY_ENV_FILE" || { problems+=("$var is missing"); continue; }
  value="$(env_value "$var")"
  if [[ -z "$value" ]]; then
    problems+=("$var is empty")
  elif [[ "$var" == *_API_KEY && "$value" == your_real_key_here ]]; then
    problems+=("$var still reads your_real_key_here")
  fi
done
((${#problems[@]} == 0)) || die "$EXIT_USAGE" "$CANARY_ENV_FILE: $(printf '%s; ' "${problems[@]}")edit it and run again"
if [[ -z "$percent" ]]; then
  percent="$(env_value COUNCIL_TRAFFIC_PERCENT)"
  percent="${percent:-5}"
fi
percent="${percent%\%}"
if ! is_uint "$percent" || ((10#$percent > 100)); then
  die "$EXIT_USAGE" "the first share must be an integer from 0 to 100, got '$percent'"
fi
percent=$((10#$percent))
ok "canary configuration complete; first share $percent %"

# --- 2. the provider ------------------------------------------------------------------------
step "Check the provider at $CANARY_URL"
[[ -n "${CANARY_TOKEN:-}" ]] ||
  die "$EXIT_NOPERM" "CANARY_TOKEN is not set and $COMPOSE_DIR/.env has no ADMIN_TOKEN: export CANARY_TOKEN=<the provider's ADMIN_TOKEN>"
api GET "/api/v1/splits/$SPLIT"
[[ "$API_STATUS" == 200 ]] || api_fail "read split $SPLIT (is the stack up? cd compose && docker compose up -d)"
[[ "$(jq -r '.valid' <<<"$API_BODY")" == true ]] ||
  die "$EXIT_SOFTWARE" "split $SPLIT has invalid stored weights: $(jq -c '.problems' <<<"$API_BODY")"
current="$(jq -r --arg c "$CANARY_BACKEND" '.shares[$c] // 0' <<<"$API_BODY")"
if [[ "$current" != 0 && -z "$force" ]]; then
  die "$EXIT_USAGE" "the canary already serves $current % of $SPLIT; replacing it now would cut live requests. Roll back first (scripts/canary-rollback.sh) or pass --force"
fi
ok "split $SPLIT is valid and serves $(shares_line "$API_BODY")"

# --- 3. start the canary --------------------------------------------------------------------
step "Start the canary replica (council-canary on :9001)"
read -r -a compose_cmd <<<"$COMPOSE"
export CANARY_ENV_FILE
run "${compose_cmd[@]}" -f "$COMPOSE_DIR/docker-compose.yml" -f "$COMPOSE_DIR/docker-compose.canary.yml" \
  up -d council-canary

# --- 4. wait for its health check -----------------------------------------------------------
step "Wait for $CANARY_HEALTH_URL (at most $HEALTH_TIMEOUT s)"
if [[ -n "$dry_run" ]]; then
  printf 'would poll %s until it answers 200\n' "$CANARY_HEALTH_URL" >&2
else
  deadline=$((SECONDS + HEALTH_TIMEOUT))
  until curl -fsS -o /dev/null --max-time "$HTTP_TIMEOUT" "$CANARY_HEALTH_URL" 2>/dev/null; do
    ((SECONDS < deadline)) ||
      die "$EXIT_UNAVAILABLE" "the canary did not answer $CANARY_HEALTH_URL within $HEALTH_TIMEOUT s; it has no traffic. Look at: docker compose logs council-canary"
    sleep 2
  done
  ok "the canary is healthy"
fi

# --- 5. smoke test with no share ------------------------------------------------------------
export CANARY_HEALTH_URL
if [[ -z "$skip_smoke" ]]; then
  step "Smoke test, the canary at 0 % (X-Canary: always through $TRAEFIK_URL)"
  if ! CANARY_OVERRIDE=1 run "$SCRIPTS/test_smoke.sh"; then
    die 1 "the smoke test failed before the canary got any share: it has no traffic. Fix it, then run again (docker compose logs council-canary)"
  fi
fi

# --- 6. first share -------------------------------------------------------------------------
step "Route $percent % of $SPLIT to the canary"
run "$SCRIPTS/canary-scale.sh" --reason "canary-deploy.sh: first step" "$percent"

# --- 7. smoke test with the share -----------------------------------------------------------
if [[ -z "$skip_smoke" ]]; then
  step "Smoke test, the canary at $percent %"
  if ! run "$SCRIPTS/test_smoke.sh"; then
    warn "the smoke test failed: rolling the canary back to 0 %"
    "$SCRIPTS/canary-rollback.sh" --reason "canary-deploy.sh: smoke test failed" || true
    exit 1
  fi
fi

# --- 8. where to watch ----------------------------------------------------------------------
step "Deployed${dry_run:+ (dry run: nothing was changed)}"
cat <<SUMMARY
The canary serves $percent % of $SPLIT. Watch the four panels for 24 h:
  Grafana      $GRAFANA_URL/d/canary-council  (p95 <= 0.7 s, cost < \$1/day, high-risk < 10 %, VRAM < 9.8 GB)
  Alerts       $PROMETHEUS_URL/alerts
  Traefik      $TRAEFIK_DASHBOARD_URL/dashboard/#/http/services/$SPLIT@http
  Status       canaryctl status $SPLIT     (or: curl -s $CANARY_URL/api/v1/splits/$SPLIT | jq .shares)

When green:    scripts/canary-scale.sh 25   then 50, then 100
When red:      scripts/canary-rollback.sh
Live check:    scripts/test_live_cloud.sh --expect auto
SUMMARY
