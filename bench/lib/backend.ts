export { startBackend, type BackendHandle as Backend } from '../../scripts/lib/backend-server';
