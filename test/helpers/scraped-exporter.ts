import { startPrometheus, type PrometheusHandle } from '../../scripts/lib/prometheus-process';

/** Whatever serves the metrics a rollout's checks query: Prometheus scrapes `target`. */
export interface ScrapedExporter {
  /** `host:port`. */
  target: string;
  stop(): Promise<void>;
}

/** An exporter and the real Prometheus that scrapes it. */
export interface ExporterUnderPrometheus<E extends ScrapedExporter> {
  exporter: E;
  prometheus: PrometheusHandle;
  /** Stops Prometheus, then the exporter. */
  stop(): Promise<void>;
}

/**
 * Starts the exporter `startExporter` starts and a Prometheus scraping it, and returns once
 * `readyQuery` has data: a rollout's checks judge nothing before Prometheus holds samples. When
 * Prometheus fails to start or to get data, whatever was started is stopped before the error is
 * thrown.
 */
export async function startScrapedExporter<E extends ScrapedExporter>(
  startExporter: () => Promise<E>,
  readyQuery: string,
): Promise<ExporterUnderPrometheus<E>> {
  const exporter = await startExporter();
  let prometheus: PrometheusHandle | undefined;
  const stop = async () => {
    await prometheus?.stop();
    await exporter.stop();
  };
  try {
    prometheus = await startPrometheus({ targets: [exporter.target] });
    await prometheus.waitForData(readyQuery, 20_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { exporter, prometheus, stop };
}
