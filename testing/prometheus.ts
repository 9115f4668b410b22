/**
 * Prometheus text format read by an independent parser (the npm package
 * `parse-prometheus-text-format`), typed for the tests.
 *
 * @module
 */
import parsePrometheusTextFormat from "parse-prometheus-text-format";

/** One metric family as the parser returns it. */
export interface MetricFamily {
  name: string;
  help: string;
  type: "GAUGE" | "COUNTER" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
  metrics: {
    value?: string;
    labels?: Record<string, string>;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }[];
}

/** Parse an exposition; throws on text the parser rejects. */
export function parseExposition(text: string): MetricFamily[] {
  return parsePrometheusTextFormat(text) as MetricFamily[];
}
