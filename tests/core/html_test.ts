import assert from "node:assert/strict";
import { escapeHtml, html, safeHttpUrl, trusted } from "../../lib/core/html.ts";

Deno.test("html`` escapes every interpolation but Html, in text and attributes", () => {
  const name = `<img src=x onerror="alert(1)">'&\``;
  assert.equal(
    html`<td title="${name}">${name}</td>`.value,
    '<td title="&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;&#96;">' +
      "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;&#96;</td>",
  );
  assert.equal(html`<p>${trusted("<b>ok</b>")}</p>`.value, "<p><b>ok</b></p>");
});

Deno.test("html`` joins arrays and renders null, undefined and false as nothing", () => {
  const rows = ["a", "<b>"].map((x) => html`<li>${x}</li>`);
  assert.equal(
    html`<ul>${rows}${null}${undefined}${false}${0}</ul>`.value,
    "<ul><li>a</li><li>&lt;b&gt;</li>0</ul>",
  );
});

Deno.test("escapeHtml() and safeHttpUrl() keep markup and scripts out", () => {
  assert.equal(escapeHtml("a < b & c"), "a &lt; b &amp; c");
  assert.equal(
    safeHttpUrl("https://crm.example/x.ogg"),
    "https://crm.example/x.ogg",
  );
  assert.equal(safeHttpUrl("javascript:alert(1)"), undefined);
  assert.equal(safeHttpUrl("not a url"), undefined);
  assert.equal(safeHttpUrl(undefined), undefined);
});
