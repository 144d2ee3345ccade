import { AppError } from '../../errors';

/**
 * Stable codes of the ways a PromQL query can fail:
 * - PROM_UNREACHABLE: no connection (refused, DNS, reset).
 * - PROM_TIMEOUT: no complete answer within the client's timeout, or Prometheus's own timeout.
 * - PROM_BAD_RESPONSE: an answer that is not the Prometheus HTTP API's JSON.
 * - PROM_QUERY_ERROR: Prometheus rejected or could not run the query (bad PromQL, wrong type).
 */
export type PrometheusErrorCode =
  'PROM_UNREACHABLE' | 'PROM_TIMEOUT' | 'PROM_BAD_RESPONSE' | 'PROM_QUERY_ERROR';

export class PrometheusError extends AppError {
  declare readonly code: PrometheusErrorCode;

  constructor(code: PrometheusErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, 502, message, options);
  }
}
