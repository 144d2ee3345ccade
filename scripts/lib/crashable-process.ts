/**
 * A server a harness runs as a child process and a test may crash and bring back: redis-server,
 * the built service.
 */
export interface CrashableProcess {
  url: string;
  port: number;
  /** SIGKILL: a crash, not a clean shutdown. */
  kill(): Promise<void>;
  /** Starts it again on the same port (the same data directory, the same environment). */
  restart(): Promise<void>;
  /** Stops it for good and removes whatever the harness made for it. */
  stop(): Promise<void>;
}
