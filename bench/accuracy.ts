/**
 * Accuracy of grouping on generated hosts (`testing/busy_host.ts`, the
 * physical model of issue 12), planned by `makePlan` exactly as a run plans
 * (`testing/host_plan.ts`), as Markdown tables for BENCHMARKS.md:
 * `deno run -A bench/accuracy.ts [--calls N] [--seeds N] [--leads-only]`
 * (`--leads-only`: the leads table alone). Deterministic.
 *
 * @module
 */
import { generateHost, type HostOptions } from "../testing/busy_host.ts";
import {
  evaluate,
  type LeadScore,
  type PairScore,
  scorePairs,
} from "../testing/host_plan.ts";
import { simulateLive } from "../testing/live.ts";
import { table } from "./common.ts";

const option = (name: string, fallback: number) => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
};
const CALLS = option("--calls", 2000);
const SEEDS = option("--seeds", 3);
const LEADS_ONLY = Deno.args.includes("--leads-only");

const pct = (n: number, d: number) =>
  d === 0 ? "–" : `${(100 * n / d).toFixed(2)} %`;

/** Adds `more`'s counts into `total`. */
function add<T extends object>(total: T, more: T): T {
  const sums = total as Record<string, number>;
  for (const [k, v] of Object.entries(more as Record<string, number>)) {
    sums[k] = (sums[k] ?? 0) + v;
  }
  return total;
}

interface Row {
  pairs: PairScore;
  leads: LeadScore;
  times: { n: number; right: number };
}

/** `SEEDS` hosts of `calls` calls shaped by `opts`, planned with naive times in `zone`. */
function run(
  opts: Partial<HostOptions>,
  zone = "UTC",
  calls = CALLS,
): Row {
  const row: Row = {
    pairs: {} as PairScore,
    leads: {} as LeadScore,
    times: { n: 0, right: 0 },
  };
  for (let seed = 1; seed <= SEEDS; seed++) {
    const e = evaluate(generateHost({ seed, calls, ...opts }), zone);
    add(row.pairs, e.pairs);
    add(row.leads, e.leads);
    row.times.n += e.repeatedTimes;
    row.times.right += e.repeatedTimesRight;
  }
  return row;
}

const PAIR_HEAD = [
  "calls with both halves",
  "right pairs",
  "wrong pairs",
  "kept apart",
  "lost halves joined",
];
const pairCells = (p: PairScore) => [
  String(p.whole),
  pct(p.right, p.whole),
  String(p.wrong),
  String(p.apart),
  `${p.halvesJoined} of ${p.halves}`,
];
const LOST = { lostRecordingRate: 0.1, lostTranscriptRate: 0.1 };

/** Pairing by offset, harder hosts, daylight saving, lost halves. */
function pairingTables(): void {
  console.log(
    `### Pairing by recorder offset\n\n${SEEDS} hosts × ${CALLS} calls a row; jitter ±3 s; 20 % repeat callers; transcripts carry no number.\n`,
  );
  const offsetRows: string[][] = [];
  for (const offset of [-10, 0, 10, 20, 30, 40]) {
    for (const gap of [20, 60]) {
      for (const lost of [0, 0.1]) {
        const r = run({
          offsetSeconds: offset,
          meanGapSeconds: gap,
          lostRecordingRate: lost,
          lostTranscriptRate: lost,
        });
        offsetRows.push([
          `${offset} s`,
          `${gap} s`,
          `${lost * 100} %`,
          ...pairCells(r.pairs),
        ]);
      }
    }
  }
  console.log(
    table(
      ["offset", "a call every", "lost each side", ...PAIR_HEAD],
      offsetRows,
    ),
  );

  console.log(
    `\n### Harder hosts (a call every 20 s unless said; 10 % lost each side)\n`,
  );
  const hard: [string, Partial<HostOptions>][] = [
    ["offset jumps anywhere in −10…+40 s every 20–40 min", {
      offsetRange: [-10, 40],
      periodMinutes: [20, 40],
    }],
    ["jitter ±6 s, offset 20 s", { offsetSeconds: 20, jitterSeconds: 6 }],
    ["file times in whole seconds, offset 20 s", {
      offsetSeconds: 20,
      coarseFileTimes: true,
    }],
    ["files copied (file times useless), offset 20 s", {
      offsetSeconds: 20,
      copied: true,
    }],
    ["a call every 5 s, offset 20 s", { offsetSeconds: 20, meanGapSeconds: 5 }],
    ["recording ends up to 3 s after the call (outside the model)", {
      offsetSeconds: 20,
      stopLagSeconds: 3,
    }],
  ];
  console.log(table(
    ["host", ...PAIR_HEAD],
    hard.map((
      [label, o],
    ) => [label, ...pairCells(run({ ...LOST, ...o }).pairs)]),
  ));

  console.log(
    `\n### Daylight saving ends (America/New_York, 2026-11-01 00:00–04:00 local, TIMEZONE=America/New_York)\n`,
  );
  const dstRows: string[][] = [];
  for (const gap of [60, 20]) {
    for (const copied of [false, true]) {
      for (const lost of [0, 0.1]) {
        const r = run(
          {
            botZone: "America/New_York",
            firstCallMs: Date.UTC(2026, 10, 1, 4),
            meanGapSeconds: gap,
            offsetSeconds: 15,
            lostRecordingRate: lost,
            lostTranscriptRate: lost,
            copied,
          },
          "America/New_York",
          Math.round(4 * 3600 / gap),
        );
        dstRows.push([
          `${gap} s`,
          copied ? "copied" : "kept",
          `${lost * 100} %`,
          ...pairCells(r.pairs),
          `${r.times.right} of ${r.times.n}`,
        ]);
      }
    }
  }
  console.log(table(
    [
      "a call every",
      "file times",
      "lost each side",
      ...PAIR_HEAD,
      "repeated-hour start times right",
    ],
    dstRows,
  ));

  console.log(
    `\n### Lost halves (5 hosts × 500 calls, a call every 40 s, 10 % lost each side, offsets 0…40 s)\n`,
  );
  const lostRows: string[][] = [];
  const lostTotal = { halves: 0, joined: 0 };
  for (let k = 0; k < 5; k++) {
    const e = evaluate(
      generateHost({
        seed: 101 + k,
        calls: 500,
        meanGapSeconds: 40,
        offsetSeconds: k * 10,
        ...LOST,
      }),
      "UTC",
    );
    lostTotal.halves += e.pairs.halves;
    lostTotal.joined += e.pairs.halvesJoined;
    lostRows.push([
      String(101 + k),
      `${k * 10} s`,
      String(e.pairs.halves),
      String(e.pairs.halvesJoined),
    ]);
  }
  lostRows.push([
    "all",
    "",
    String(lostTotal.halves),
    String(lostTotal.joined),
  ]);
  console.log(
    table(["seed", "offset", "lost halves", "joined to another"], lostRows),
  );
}

/** Where the leads went: attached right or wrong, sent alone, waiting. */
function leadTables(): void {
  console.log(
    `\n### Leads (${SEEDS} hosts × ${CALLS} calls, offset 20 s; half the leads carry the caller's number)\n`,
  );
  const leadRows: string[][] = [];
  for (const style of ["legacy", "session"] as const) {
    for (const gap of [20, 60]) {
      for (const lost of [0, 0.1]) {
        const l = run({
          leadStyle: style,
          offsetSeconds: 20,
          meanGapSeconds: gap,
          lostRecordingRate: lost,
          lostTranscriptRate: lost,
        }).leads;
        leadRows.push([
          style,
          `${gap} s`,
          `${lost * 100} %`,
          String(l.leads),
          pct(l.right, l.leads),
          String(l.wrong),
          `${l.halfLostWrong} of ${l.halfLost}`,
          `${l.orphansAttached} of ${l.orphans}`,
          String(l.files),
          String(l.attached),
          String(l.alone),
          String(l.waiting),
        ]);
      }
    }
  }
  console.log(table(
    [
      "leads",
      "a call every",
      "lost each side",
      "leads of calls on disk",
      "right",
      "wrong",
      "wrong, of calls that lost a half",
      "attached, of calls that lost both",
      "lead files on disk",
      "attached to a call",
      "sent alone",
      "waiting",
    ],
    leadRows,
  ));
}

/** Run by run, as cron meets the files. */
function liveTables(): void {
  console.log(
    `\n### Run by run (a run a minute plans only what is on disk and not yet sent; recordings still growing; sent pairs kept as evidence; 10 % lost each side)\n`,
  );
  const live: [string, Partial<HostOptions>, string?][] = [
    ["offset 20 s, a call every 20 s", { offsetSeconds: 20 }],
    ["offset 40 s, a call every 20 s", { offsetSeconds: 40 }],
    ["offset jumps in −10…+40 s every 1–4 h", { offsetRange: [-10, 40] }],
    ["offset jumps in −10…+40 s every 10–30 min", {
      offsetRange: [-10, 40],
      periodMinutes: [10, 30],
    }],
    ["fall-back in America/New_York, a call a minute", {
      botZone: "America/New_York",
      firstCallMs: Date.UTC(2026, 10, 1, 4),
      meanGapSeconds: 60,
      offsetSeconds: 15,
    }, "America/New_York"],
  ];
  console.log(table(
    [
      "host",
      ...PAIR_HEAD,
      "lead files",
      "sent with a call",
      "sent alone",
      "never sent / sent twice",
    ],
    live.map(([label, o, zone]) => {
      const total = {} as PairScore;
      const leads = { files: 0, attached: 0, alone: 0, unsent: 0, twice: 0 };
      for (let seed = 1; seed <= SEEDS; seed++) {
        const host = generateHost({ seed, calls: 1000, ...LOST, ...o });
        const replay = simulateLive(host, zone ?? "UTC");
        add(total, scorePairs(host, replay.pairs));
        add(leads, replay.leads);
      }
      return [
        label,
        ...pairCells(total),
        String(leads.files),
        String(leads.attached),
        String(leads.alone),
        `${leads.unsent} / ${leads.twice}`,
      ];
    }),
  ));
}

if (LEADS_ONLY) leadTables();
else {
  pairingTables();
  leadTables();
  liveTables();
}
