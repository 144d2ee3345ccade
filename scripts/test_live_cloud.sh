#!/usr/bin/env bash
# Live sanity through Traefik: sends N requests to the council's route, counts the answers per
# backend, and (with --expect) checks that the canary's share matches what the provider serves.
set -euo pipefail
# shellcheck source=lib/common.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

: "${TRAEFIK_URL:=http://127.0.0.1:80}"
: "${COUNCIL_HOST:=council.localhost}"
: "${REQUEST_PATH:=/health}"
: "${REQUESTS:=100}"
: "${VARIANT_HEADER:=X-Council-Variant}"
: "${DEADLINE:=60}"
: "${OVERRIDE_HEADER:=X-Canary: always}"
TRAEFIK_URL="${TRAEFIK_URL%/}"

usage() {
  cat <<USAGE
Usage: $SCRIPT_NAME [-n REQUESTS] [--expect PERCENT|auto] [--canary]

Sends REQUESTS requests (default 100, at most 10000) to \$TRAEFIK_URL\$REQUEST_PATH with
Host: \$COUNCIL_HOST, one at a time, each within HTTP_TIMEOUT seconds and all within DEADLINE
seconds, and counts the answers per backend by the \$VARIANT_HEADER response header (answers
without it count as "unknown").

  -n, --requests N   how many requests (default \$REQUESTS or 100)
  --expect PERCENT   fail unless the canary's share is within 4 standard deviations (binomial) of
                     PERCENT; "auto" reads the share the provider serves from
                     \$CANARY_URL/api/v1/splits/\$SPLIT
  --canary           send \$OVERRIDE_HEADER (default "X-Canary: always") with every request: the
                     split's router override sends them all to the canary, whatever its weight,
                     so the canary can be tried live before it has a share (implies --expect 100)
  -h, --help         this help

Environment:
  TRAEFIK_URL      Traefik's web entrypoint (default http://127.0.0.1:80)
  COUNCIL_HOST     Host header routed to the split (default council.localhost)
  REQUEST_PATH     path to request (default /health)
  VARIANT_HEADER   response header naming the backend (default X-Council-Variant)
  CANARY_BACKEND   the value of that header on the canary (default canary)
  CANARY_URL, SPLIT  for --expect auto
  HTTP_TIMEOUT, DEADLINE  seconds per request (5) and for the whole run (60)
  The council's own live switches (SWARM_COUNCIL_ENABLED, SWARM_CLOUD_ENABLED) are passed through
  untouched: set them as the guide says when the council should call the real cloud APIs.

Exit codes: 0 every request answered 2xx/3xx (and the share matched), 1 otherwise, 64 usage,
69 nothing answered at TRAEFIK_URL.
USAGE
}

expect='' canary_only=''
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    -n | --requests)
      need_value $# "$1"
      REQUESTS="$2"
      shift
      ;;
    --expect)
      need_value $# "$1" "a percent or auto"
      expect="$2"
      shift
      ;;
    --canary) canary_only=1 ;;
    *) die "$EXIT_USAGE" "unexpected argument '$1' (see --help)" ;;
  esac
  shift
done
extra_headers=()
if [[ -n "$canary_only" ]]; then
  extra_headers=(-H "$OVERRIDE_HEADER")
  : "${expect:=100}"
fi
if ! is_uint "$REQUESTS" || ((10#$REQUESTS < 1 || 10#$REQUESTS > 10000)); then
  die "$EXIT_USAGE" "REQUESTS must be an integer from 1 to 10000, got '$REQUESTS'"
fi
REQUESTS=$((10#$REQUESTS))
is_uint "$DEADLINE" || die "$EXIT_USAGE" "DEADLINE must be a number of seconds, got '$DEADLINE'"
require_cmd curl awk

if [[ "$expect" == auto ]]; then
  require_cmd jq
  api GET "/api/v1/splits/$SPLIT"
  [[ "$API_STATUS" == 200 ]] || api_fail "read the share served for $SPLIT"
  expect="$(jq -r --arg c "$CANARY_BACKEND" '.shares[$c] // 0' <<<"$API_BODY")"
  info "the provider serves $CANARY_BACKEND $expect % of $SPLIT"
elif [[ -n "$expect" ]] && ! [[ "$expect" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
  die "$EXIT_USAGE" "--expect takes a percent from 0 to 100 or auto, got '$expect'"
fi

declare -A counts=()
declare -A codes=()
bad=0 sent=0
headers_file="$(mktemp)"
trap 'rm -f "$headers_file"' EXIT
started=$SECONDS
header_lc="$(tr '[:upper:]' '[:lower:]' <<<"$VARIANT_HEADER")"

for ((i = 1; i <= REQUESTS; i++)); do
  if ((SECONDS - started >= DEADLINE)); then
    warn "stopped after $sent requests: DEADLINE of $DEADLINE s reached"
    break
  fi
  code="$(curl -sS -o /dev/null -D "$headers_file" -w '%{http_code}' --max-time "$HTTP_TIMEOUT" \
    -H "Host: $COUNCIL_HOST" "${extra_headers[@]}" "$TRAEFIK_URL$REQUEST_PATH" 2>/dev/null)" || code=000
  sent=$((sent + 1))
  codes[$code]=$((${codes[$code]:-0} + 1))
  [[ "$code" =~ ^[23] ]] || bad=$((bad + 1))
  variant="$(tr -d '\r' <"$headers_file" | awk -v h="$header_lc" -F': *' 'tolower($1) == h { v = $2 } END { print v }')"
  variant="${variant:-unknown}"
  counts[$variant]=$((${counts[$variant]:-0} + 1))
done

((${codes[000]:-0} < sent)) || die "$EXIT_UNAVAILABLE" "nothing answered at $TRAEFIK_URL (Host: $COUNCIL_HOST) in $sent tries"

echo "$sent requests to $TRAEFIK_URL$REQUEST_PATH (Host: $COUNCIL_HOST) in $((SECONDS - started)) s"
for v in $(printf '%s\n' "${!counts[@]}" | sort); do
  awk -v v="$v" -v c="${counts[$v]}" -v n="$sent" 'BEGIN { printf "  %-12s %6d  %6.2f %%\n", v, c, 100 * c / n }'
done
printf '  status codes:'
for c in $(printf '%s\n' "${!codes[@]}" | sort); do printf ' %s=%s' "$c" "${codes[$c]}"; done
printf '\n'

status=0
if ((bad > 0)); then
  echo "FAIL  $bad of $sent requests did not answer 2xx/3xx"
  status=1
fi
if [[ -n "$expect" ]]; then
  canary="${counts[$CANARY_BACKEND]:-0}"
  # 4 standard deviations of a binomial share, plus one request of slack for rounding: a correct
  # split fails this less than once in 15,000 runs.
  verdict="$(awk -v c="$canary" -v n="$sent" -v e="$expect" 'BEGIN {
    p = e / 100; tol = 4 * sqrt(p * (1 - p) / n) + 1 / n; got = c / n
    d = got - p; if (d < 0) d = -d
    printf "%s %.2f %.2f", (d <= tol ? "ok" : "FAIL"), 100 * got, 100 * tol }')"
  read -r word got tol <<<"$verdict"
  echo "$word  canary share $got % vs expected $expect % (tolerance ±$tol points)"
  [[ "$word" == ok ]] || status=1
fi
exit "$status"
