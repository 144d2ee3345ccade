/**
 * The services compose/docker-compose.yml declares, before any overlay: the stack that both the
 * parse-level and the Compose-loader tests expect, stated once.
 */
export const BASE_STACK_SERVICES: readonly string[] = [
  'alertmanager',
  'council-main',
  'grafana',
  'prometheus',
  'provider',
  'redis',
  'traefik',
];
