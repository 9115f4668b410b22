/**
 * deploy/: the Prometheus alert rules and the Grafana dashboard use only
 * metrics callsync really exports — asked of a running `callsync watch
 * --metrics-listen` and of the METRICS_FILE a `callsync run` writes, both
 * read back with an independent parser — and every expression is valid
 * PromQL (the Prometheus project's own grammar).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parser } from "@prometheus-io/lezer-promql";
import { parse as parseYaml } from "yaml";
import { FakeCrm } from "../../testing/fake_crm.ts";
import { writeCallTree } from "../../testing/calls.ts";
import {
  cliCommand,
  crmEnv,
  freePort,
  ROOT,
  runCli,
} from "../../testing/cli.ts";
import { stopChild } from "../../testing/platform.ts";
import { parseExposition } from "../../testing/prometheus.ts";
import { deliveredSets } from "../../testing/status.ts";

const RULES = join(ROOT, "deploy/prometheus/callsync-alerts.yml");
const DASHBOARD = join(ROOT, "deploy/grafana/callsync-dashboard.json");
/** Series Prometheus makes itself, which callsync need not export. */
const PROMETHEUS_OWN = new Set(["up"]);

interface Rules {
  groups: { rules: { alert: string; expr: string }[] }[];
}

interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
  templating: { list: { type: string; query?: { query: string } }[] };
}

/** Every PromQL expression of deploy/, by where it is. */
async function expressions(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const rules = parseYaml(await Deno.readTextFile(RULES)) as Rules;
  for (const r of rules.groups.flatMap((g) => g.rules)) {
    out.set(`alert ${r.alert}`, r.expr);
  }
  const dash = JSON.parse(await Deno.readTextFile(DASHBOARD)) as Dashboard;
  for (const p of dash.panels) {
    for (const [i, t] of p.targets.entries()) {
      // Grafana's variables, as Grafana substitutes them.
      const expr = t.expr.replaceAll("$__rate_interval", "5m")
        .replaceAll("$instance", ".*");
      out.set(`panel "${p.title}" target ${i}`, expr);
    }
  }
  for (const v of dash.templating.list) {
    if (v.type !== "query" || !v.query) continue;
    const m = /^label_values\((\w+),\s*\w+\)$/.exec(v.query.query);
    assert.ok(m, `template query ${v.query.query}`);
    out.set(`template ${v.query.query}`, m[1]);
  }
  return out;
}

/** The metric names a PromQL expression selects; throws if it does not parse. */
function metricNames(where: string, expr: string): string[] {
  const names: string[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      assert.ok(!node.type.isError, `${where}: invalid PromQL: ${expr}`);
      if (node.name !== "VectorSelector") return;
      const id = node.node.getChild("Identifier");
      if (id) names.push(expr.slice(id.from, id.to));
    },
  });
  return names;
}

/** Metric names in a text exposition, by an independent parser. */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const family of parseExposition(text)) {
    names.add(family.name);
    if (family.type === "HISTOGRAM") {
      for (const suffix of ["_bucket", "_sum", "_count"]) {
        names.add(family.name + suffix);
      }
    }
  }
  return names;
}

/** What a live watch serves and what a run writes, after real deliveries. */
async function exportedByCallsync(): Promise<Set<string>> {
  const dir = await Deno.makeTempDir({ prefix: "callsync-deploy-" });
  const crm = FakeCrm.start();
  try {
    await writeCallTree(dir, { seed: 7, calls: 6, bytesPerSecond: 40 });
    const metricsFile = join(dir, "callsync.prom");
    const env = crmEnv(crm, { METRICS_FILE: metricsFile });
    const run = await runCli(["run", "--base-dir", dir], env);
    assert.equal(run.code, 0, run.stderr);
    const names = exportedNames(await Deno.readTextFile(metricsFile));

    // More calls for the watch to deliver, so its histogram has samples.
    await writeCallTree(dir, { seed: 8, calls: 4, bytesPerSecond: 40 });
    const port = freePort();
    const child = cliCommand(
      ["watch", "--base-dir", dir, "-q"],
      { ...env, SETTLE_SECONDS: "0", METRICS_LISTEN: `127.0.0.1:${port}` },
      { stdout: "null", stderr: "null" },
    ).spawn();
    try {
      let text = "";
      for (let i = 0; i < 200; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`)
          .catch(() => undefined);
        text = (await res?.text()) ?? "";
        const delivered = (await deliveredSets(dir)).length;
        if (/latency_seconds_count [1-9]/.test(text) && delivered >= 8) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(text, /callsync_delivery_latency_seconds_count [1-9]/);
      for (const n of exportedNames(text)) names.add(n);
    } finally {
      const stopped = await stopChild(child);
      if (stopped.graceful) assert.equal(stopped.status.code, 0);
    }
    return names;
  } finally {
    await crm.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("deploy/: every expression is valid PromQL over metrics callsync exports", async () => {
  const exported = await exportedByCallsync();
  const used = new Set<string>();
  for (const [where, expr] of await expressions()) {
    const names = metricNames(where, expr);
    assert.ok(names.length > 0, `${where} uses no metric`);
    for (const name of names) {
      used.add(name);
      assert.ok(
        exported.has(name) || PROMETHEUS_OWN.has(name),
        `${where} uses ${name}, which callsync does not export`,
      );
    }
  }
  // Not vacuous: the rules and panels cover what the issue asks for.
  for (
    const name of [
      "callsync_sets",
      "callsync_oldest_pending_age_seconds",
      "callsync_last_delivery_timestamp_seconds",
      "callsync_delivery_latency_seconds_bucket",
      "callsync_queue_depth",
      "callsync_build_info",
      "up",
    ]
  ) {
    assert.ok(used.has(name), `deploy/ never uses ${name}`);
  }
});

Deno.test("metricNames() rejects invalid PromQL and finds every selector", () => {
  assert.deepEqual(
    metricNames("t", 'a{x="1"} / on (i) b + rate(c_bucket[5m])'),
    ["a", "b", "c_bucket"],
  );
  assert.throws(() => metricNames("t", "sum(a"), /invalid PromQL/);
});
