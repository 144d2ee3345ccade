#!/usr/bin/env bash
# Moves a canary's share of traffic: one write through the provider's API, which Traefik picks up on
# its next poll. Replaces the guide's "sed COUNCIL_TRAFFIC_PERCENT + kill -HUP" step.
set -euo pipefail
# shellcheck source=lib/common.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<USAGE
Usage: $SCRIPT_NAME [--wait] [--reason TEXT] <percent>

Gives the canary <percent> (0-100) of split \$SPLIT's traffic and the stable backend the rest,
through POST \$CANARY_URL/api/v1/splits/\$SPLIT/scale. Traefik applies it on its next poll
(pollInterval + providersThrottleDuration, a few seconds).

  --wait           answer only once every Traefik in the provider's TRAEFIK_API_URLS shows it
  --reason TEXT    why, recorded in the audit trail (default: "canary-scale.sh <percent>")
  -h, --help       this help

Environment:
  CANARY_URL    provider base URL (default http://127.0.0.1:9500)
  CANARY_TOKEN  the provider's ADMIN_TOKEN (required)
  SPLIT         split name (default council)
  CANARY_ACTOR  recorded as the actor (default \$USER@\$(hostname))

Examples:
  CANARY_TOKEN=... $SCRIPT_NAME 25
  CANARY_TOKEN=... $SCRIPT_NAME --wait --reason "green for 24h" 50

Exit codes: 0 done, 64 usage or refused, 69 provider unreachable, 70 provider error,
77 token missing or refused.
USAGE
}

percent='' reason='' wait=''
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --wait) wait=1 ;;
    --reason)
      need_value $# "$1"
      reason="$2"
      shift
      ;;
    --reason=*) reason="${1#--reason=}" ;;
    -*) die "$EXIT_USAGE" "unknown option '$1' (see --help)" ;;
    *)
      [[ -z "$percent" ]] || die "$EXIT_USAGE" "one percent only (got '$percent' and '$1')"
      percent="$1"
      ;;
  esac
  shift
done

[[ -n "$percent" ]] || { usage >&2; exit "$EXIT_USAGE"; }
percent="${percent%\%}"
if ! is_uint "$percent" || ((10#$percent > 100)); then
  die "$EXIT_USAGE" "percent must be an integer from 0 to 100, got '$percent'"
fi
percent=$((10#$percent))
[[ -n "${CANARY_TOKEN:-}" ]] || die "$EXIT_NOPERM" "CANARY_TOKEN is not set: export CANARY_TOKEN=<the provider's ADMIN_TOKEN>"
require_cmd curl jq

: "${reason:=$SCRIPT_NAME $percent}"
query=''
[[ -z "$wait" ]] || query='?wait=applied&timeout=10s'

info "scaling split '$SPLIT' to $percent % canary at $CANARY_URL"
api POST "/api/v1/splits/$SPLIT/scale$query" "{\"percent\":$percent,\"reason\":$(json_string "$reason")}"
[[ "$API_STATUS" == 200 ]] || api_fail "scale $SPLIT to $percent %"

ok "split '$SPLIT' now serves: $(shares_line "$API_BODY")"
[[ -n "$wait" ]] || info "Traefik applies it on its next poll; watch it with: canaryctl status $SPLIT"
