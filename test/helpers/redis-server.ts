export * from '../../scripts/lib/redis-process';
