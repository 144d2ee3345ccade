#!/usr/bin/env bash
# Offline smoke test, a few seconds: the provider is up and ready, GET /traefik parses and carries the
# split with explicit positive weights, the split's stored weights are valid, and (when asked) the
# canary answers its health check and Traefik shows the split. No cloud API is called.
set -euo pipefail
# shellcheck source=lib/common.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<USAGE
Usage: $SCRIPT_NAME

Checks, each bounded by HTTP_TIMEOUT seconds:
  1. GET \$CANARY_URL/health answers 200
  2. GET \$CANARY_URL/ready answers 200
  3. GET \$CANARY_URL/traefik (with PROVIDER_TOKEN) answers 200, fresh (no X-Config-Stale), and its
     JSON has http.services.\$SPLIT.weighted.services with every weight an integer > 0, each child
     defined in the body or named as <service>@<provider>
  4. GET \$CANARY_URL/api/v1/splits/\$SPLIT reports valid weights
  5. GET \$CANARY_HEALTH_URL answers 200               (only when CANARY_HEALTH_URL is set)
  6. GET \$TRAEFIK_API_URL/api/http/services/\$SPLIT@http answers 200 (only when TRAEFIK_API_URL is set)
  7. GET \$TRAEFIK_URL/ with Host: \$COUNCIL_HOST and X-Canary: always (the split's router override)
     is answered by the canary, whatever its weight   (only when CANARY_OVERRIDE=1 and TRAEFIK_URL
     are set; the canary is recognised by its \$VARIANT_HEADER response header)

Environment:
  CANARY_URL        provider base URL (default http://127.0.0.1:9500)
  PROVIDER_TOKEN    bearer token for GET /traefik, when the provider requires one
  SPLIT             split name (default council)
  CANARY_HEALTH_URL the canary's own health URL, e.g. http://127.0.0.1:9001/health
  TRAEFIK_API_URL   Traefik's API base URL, e.g. http://127.0.0.1:8080
  TRAEFIK_URL       Traefik's web entrypoint, e.g. http://127.0.0.1:80 (check 7)
  COUNCIL_HOST      Host header routed to the split (default council.localhost)
  OVERRIDE_HEADER   the override that reaches the canary (default "X-Canary: always")
  VARIANT_HEADER    response header naming the backend (default X-Council-Variant)
  HTTP_TIMEOUT      seconds per request (default 5)

Exit codes: 0 all checks passed, 1 a check failed, 64 usage.
USAGE
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  '') ;;
  *) die "$EXIT_USAGE" "unexpected argument '$1' (see --help)" ;;
esac
require_cmd curl jq

passed=0 failed=0
pass() { passed=$((passed + 1)); printf 'ok    %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL  %s\n' "$*"; }

body_file="$(mktemp)"
headers_file="$(mktemp)"
trap 'rm -f "$body_file" "$headers_file"' EXIT

# get URL [bearer-token]: sets STATUS; body in $body_file, headers in $headers_file.
get() {
  STATUS="$(curl -sS -o "$body_file" -D "$headers_file" -w '%{http_code}' --max-time "$HTTP_TIMEOUT" \
    -H @<(bearer_header "${2:-}") "$1" 2>/dev/null)" || true
  [[ "$STATUS" =~ ^[0-9]{3}$ ]] || STATUS=000
}

get "$CANARY_URL/health"
if [[ "$STATUS" == 200 ]]; then pass "provider /health"; else fail "provider /health: HTTP $STATUS at $CANARY_URL"; fi

get "$CANARY_URL/ready"
if [[ "$STATUS" == 200 ]]; then
  pass "provider /ready"
else
  fail "provider /ready: HTTP $STATUS $(jq -r '.detail // .reason // empty' "$body_file" 2>/dev/null || true)"
fi

get "$CANARY_URL/traefik" "${PROVIDER_TOKEN:-}"
if [[ "$STATUS" != 200 ]]; then
  hint=''
  [[ "$STATUS" != 401 ]] || hint=' (set PROVIDER_TOKEN to the provider'"'"'s PROVIDER_TOKEN)'
  fail "GET /traefik: HTTP $STATUS$hint"
elif grep -qi '^x-config-stale: *true' "$headers_file"; then
  fail "GET /traefik: X-Config-Stale: true, the provider cannot read Redis and serves its last good body"
else
  # Each weighted child must carry an explicit integer weight > 0 (Traefik counts an omitted weight as 1 and builds a zero-weight child) and name a
  # service that exists: one defined in this body, or another provider's (name@provider).
  problems="$(jq -r --arg s "$SPLIT" '
    . as $root
    | (.http.services[$s].weighted.services // null) as $children
    | if ($children | type) != "array" or ($children | length) == 0 then
        "no http.services.\($s).weighted.services"
      else
        $children[]
        | (if (.weight | type) != "number" or .weight != (.weight | floor) or .weight <= 0
             then "child \(.name): weight \(.weight) is not an integer > 0" else empty end),
          (.name as $n | if ($n | contains("@")) or ($root.http.services[$n] != null) then empty
             else "child \($n) is not defined in the body" end)
      end' "$body_file" 2>&1)" || problems="not JSON: $problems"
  if [[ -z "$problems" ]]; then
    pass "GET /traefik serves $SPLIT: $(jq -r --arg s "$SPLIT" '[.http.services[$s].weighted.services[] | "\(.name)=\(.weight)"] | join(" ")' "$body_file")"
  else
    fail "GET /traefik: $(tr '\n' ';' <<<"$problems")"
  fi
fi

get "$CANARY_URL/api/v1/splits/$SPLIT"
if [[ "$STATUS" == 200 ]] && [[ "$(jq -r '.valid' "$body_file")" == true ]]; then
  pass "split $SPLIT valid, serving $(shares_line "$(cat "$body_file")")"
elif [[ "$STATUS" == 200 ]]; then
  fail "split $SPLIT: stored weights invalid: $(jq -c '.problems' "$body_file")"
else
  fail "GET /api/v1/splits/$SPLIT: HTTP $STATUS"
fi

if [[ -n "${CANARY_HEALTH_URL:-}" ]]; then
  get "$CANARY_HEALTH_URL"
  if [[ "$STATUS" == 200 ]]; then pass "canary $CANARY_HEALTH_URL"; else fail "canary $CANARY_HEALTH_URL: HTTP $STATUS"; fi
fi

if [[ -n "${TRAEFIK_API_URL:-}" ]]; then
  get "${TRAEFIK_API_URL%/}/api/http/services/$SPLIT@http"
  if [[ "$STATUS" == 200 ]]; then
    pass "Traefik shows $SPLIT@http: $(jq -r '[(.weighted.services // [])[] | "\(.name)=\(.weight)"] | join(" ")' "$body_file" 2>/dev/null)"
  else
    fail "Traefik API ${TRAEFIK_API_URL%/}/api/http/services/$SPLIT@http: HTTP $STATUS"
  fi
fi

if [[ -n "${CANARY_OVERRIDE:-}" && -n "${TRAEFIK_URL:-}" ]]; then
  : "${COUNCIL_HOST:=council.localhost}" "${OVERRIDE_HEADER:=X-Canary: always}"
  : "${VARIANT_HEADER:=X-Council-Variant}"
  STATUS="$(curl -sS -o "$body_file" -D "$headers_file" -w '%{http_code}' --max-time "$HTTP_TIMEOUT" \
    -H "Host: $COUNCIL_HOST" -H "$OVERRIDE_HEADER" "${TRAEFIK_URL%/}/" 2>/dev/null)" || true
  [[ "$STATUS" =~ ^[0-9]{3}$ ]] || STATUS=000
  variant="$(tr -d '\r' <"$headers_file" | sed -n -E "s/^${VARIANT_HEADER}:[[:space:]]*//Ip" | tail -n 1)"
  if [[ "$STATUS" =~ ^[23] && "$variant" == "$CANARY_BACKEND" ]]; then
    pass "canary through Traefik with $OVERRIDE_HEADER: HTTP $STATUS from $variant"
  else
    fail "canary through Traefik with $OVERRIDE_HEADER (Host: $COUNCIL_HOST): HTTP $STATUS, $VARIANT_HEADER '${variant}' (want '$CANARY_BACKEND')"
  fi
fi

echo "$SCRIPT_NAME: $passed of $((passed + failed)) checks ok"
((failed == 0)) || exit 1
