export { freePort, waitForPort, waitUntil } from '../../scripts/lib/ports';
