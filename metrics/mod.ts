/**
 * Prometheus text exposition for amikit's counters: {@link renderMetrics}
 * turns `client.stats()` or `cluster.stats()` into the text a `/metrics`
 * endpoint serves (the `amikit` command's `--metrics` uses it).
 *
 * @example
 * ```ts
 * import { PROMETHEUS_CONTENT_TYPE, renderMetrics } from "amikit/metrics";
 * // in an HTTP handler: respond with renderMetrics(cluster.stats()), PROMETHEUS_CONTENT_TYPE
 * ```
 *
 * @module
 */

export {
  formatPrometheus,
  type MetricFamily,
  type MetricSample,
  type MetricsSnapshot,
  type MetricType,
  type NodeMetrics,
  nodeMetricsOf,
  type NodeStats,
  type NodeTotals,
  PROMETHEUS_CONTENT_TYPE,
  renderMetrics,
  type RenderMetricsOptions,
} from "../core/prometheus.ts";
