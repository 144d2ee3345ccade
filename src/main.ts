import { loadEnv } from './config/env';
import { StartupError } from './errors';
import { createLogger } from './log/logger';
import { startService } from './service';

async function main(): Promise<void> {
  let env;
  try {
    env = loadEnv();
  } catch (err) {
    process.stderr.write(`traefik-canary-provider: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const log = createLogger(env.LOG_LEVEL);
  try {
    const service = await startService(env, log);
    const shutdown = (signal: string): void => {
      log.info({ signal }, 'shutting down');
      void service.stop().then(() => process.exit(0));
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  } catch (err) {
    if (err instanceof StartupError) {
      process.stderr.write(`traefik-canary-provider: ${err.message}\n`);
      process.exit(2);
    }
    log.fatal({ err }, 'could not start');
    process.exit(1);
  }
}

void main();
