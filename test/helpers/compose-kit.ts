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

/**
 * The guide's canary variables with the guide's values, as compose/canary.env.example holds them
 * and as the canary container then gets them.
 */
export const GUIDE_CANARY_ENV: Readonly<Record<string, string>> = {
  SWARM_COUNCIL_ENABLED: 'true',
  COUNCIL_TRAFFIC_PERCENT: '5',
  SWARM_CLOUD_ENABLED: 'true',
  SWARM_GPU_PROFILE: 'rtx_4070',
  PYTORCH_CUDA_ALLOC_CONF: 'max_split_size_mb:128',
  MISTRAL_API_KEY: 'your_real_key_here',
  OPENAI_API_KEY: 'your_real_key_here',
};
