export * from '../../scripts/lib/traefik-process';
