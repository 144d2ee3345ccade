#!/bin/sh
# Entry point of the Traefik container in compose/docker-compose.yml: writes PROVIDER_TOKEN into a
# private copy of the static configuration, then execs Traefik on it. Traefik's static file cannot
# read environment variables, and its static sources (file, flags, environment) do not mix.
#
# Env: PROVIDER_TOKEN (required), TRAEFIK_TEMPLATE (default /etc/traefik/traefik.compose.yml),
#      TRAEFIK_RENDERED (default /tmp/traefik.yml), TRAEFIK_BIN (default traefik).
set -eu

template="${TRAEFIK_TEMPLATE:-/etc/traefik/traefik.compose.yml}"
rendered="${TRAEFIK_RENDERED:-/tmp/traefik.yml}"
placeholder='__PROVIDER_TOKEN__'

if [ -z "${PROVIDER_TOKEN:-}" ]; then
  echo "compose-entrypoint: PROVIDER_TOKEN is empty; set it in compose/.env (openssl rand -hex 32)" >&2
  exit 64
fi
# The token lands inside a quoted YAML scalar and a sed replacement: allow only characters that
# are safe in both (hex, base64 and base64url tokens all qualify).
case "$PROVIDER_TOKEN" in
  *[!A-Za-z0-9._~+/=-]*)
    echo "compose-entrypoint: PROVIDER_TOKEN may use only A-Z a-z 0-9 . _ ~ + / = - (try: openssl rand -hex 32)" >&2
    exit 64
    ;;
esac
if [ ! -r "$template" ]; then
  echo "compose-entrypoint: cannot read the static configuration template $template" >&2
  exit 66
fi
if ! grep -q "$placeholder" "$template"; then
  echo "compose-entrypoint: $template has no $placeholder; Traefik would poll the provider without its token" >&2
  exit 65
fi

umask 077
sed "s|$placeholder|$PROVIDER_TOKEN|g" "$template" >"$rendered"
exec "${TRAEFIK_BIN:-traefik}" --configFile="$rendered" "$@"
