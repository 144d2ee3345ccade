export * from '../../scripts/lib/backend-server';
