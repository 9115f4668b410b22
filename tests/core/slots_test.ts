import { deepEqual, equal } from "node:assert/strict";
import { Slots } from "../../lib/core/slots.ts";

/** Let every pending promise callback run. */
const settle = () => new Promise((r) => setTimeout(r, 0));

Deno.test("Slots.take() lets `limit` holders in at once, the rest in the order they asked", async () => {
  const slots = new Slots(2);
  const order: string[] = [];
  const a = await slots.take();
  const b = await slots.take();
  void slots.take().then((c) => (order.push("c"), c[Symbol.dispose]()));
  void slots.take().then((d) => (order.push("d"), d[Symbol.dispose]()));
  await settle();
  deepEqual(order, []);
  a[Symbol.dispose]();
  a[Symbol.dispose](); // a second dispose gives nothing back
  await settle();
  deepEqual(order, ["c", "d"]);
  b[Symbol.dispose]();
  const all = await Promise.all([slots.take(), slots.take()]);
  equal(all.length, 2);
});

Deno.test("Slots.reserve() waits behind every take, and its slot goes to the next take", async () => {
  const slots = new Slots(1);
  const events: string[] = [];
  const first = await slots.take();
  void slots.reserve().then((r) => {
    events.push("reserved");
    return r;
  });
  void slots.take().then((t) => {
    events.push("taken");
    t[Symbol.dispose]();
  });
  first[Symbol.dispose]();
  await settle();
  // The waiting take went first, the reservation only after it.
  deepEqual(events, ["taken", "reserved"]);
  const next = await slots.take(); // takes up the reservation at once
  next[Symbol.dispose]();
});

Deno.test("Slots: an unused reservation given back frees its slot; a used one is no longer held", async () => {
  const slots = new Slots(1);
  const unused = (await slots.reserve())!;
  let second = false;
  const waiting = slots.reserve().then((r) => (second = true, r));
  await settle();
  equal(second, false);
  unused[Symbol.dispose]();
  const r = (await waiting)!;
  equal(second, true);
  const t = await slots.take(); // uses r's slot
  r[Symbol.dispose](); // no effect: taken up already
  let third = false;
  const later = slots.take().then((x) => (third = true, x));
  await settle();
  equal(third, false, "the slot is still in use");
  t[Symbol.dispose]();
  (await later)[Symbol.dispose]();
});

Deno.test("Slots.close() answers every reservation, waiting or to come, with undefined; takes go on", async () => {
  const slots = new Slots(1);
  const held = await slots.take();
  const waiting = slots.reserve();
  slots.close();
  equal(await waiting, undefined);
  equal(await slots.reserve(), undefined);
  held[Symbol.dispose]();
  (await slots.take())[Symbol.dispose]();
});

Deno.test("Slots.takeFirst() waits behind every take and holds the slot it gets; closed, it starts nothing", async () => {
  const slots = new Slots(1);
  const events: string[] = [];
  const first = await slots.take();
  const newcomer = slots.takeFirst().then((t) => {
    events.push("first");
    return t;
  });
  void slots.take().then((t) => {
    events.push("taken");
    t[Symbol.dispose]();
  });
  first[Symbol.dispose]();
  const held = (await newcomer)!;
  deepEqual(events, ["taken", "first"], "work under way went first");
  let other = false;
  const waiting = slots.take().then((t) => (other = true, t));
  await settle();
  equal(other, false, "the newcomer holds its slot");
  held[Symbol.dispose]();
  (await waiting)[Symbol.dispose]();
  slots.close();
  equal(await slots.takeFirst(), undefined);
});
