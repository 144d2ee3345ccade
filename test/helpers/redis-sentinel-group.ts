export * from '../../scripts/lib/redis-sentinel-group';
