import { deepStrictEqual, equal, throws } from "node:assert/strict";
import {
  bypassesProxy,
  parseProxy,
  proxyFor,
  ProxySettingError,
  proxyVariables,
} from "../../lib/config/proxy.ts";

Deno.test("proxyVariables() takes the first source that sets a name, upper case before lower, blanks unset", () => {
  deepStrictEqual(
    proxyVariables(
      { https_proxy: "http://env-lower:1", NO_PROXY: " " },
      {
        HTTPS_PROXY: "http://file:1",
        HTTP_PROXY: "http://file:2",
        no_proxy: "a.example",
      },
    ),
    {
      HTTPS_PROXY: "http://env-lower:1",
      HTTP_PROXY: "http://file:2",
      NO_PROXY: "a.example",
    },
  );
  deepStrictEqual(
    proxyVariables({
      HTTPS_PROXY: "http://upper:1",
      https_proxy: "http://lower:1",
    }),
    { HTTPS_PROXY: "http://upper:1" },
  );
});

Deno.test("parseProxy() keeps the credentials apart, decoded, and shows only scheme, host and port", () => {
  deepStrictEqual(
    parseProxy("http://us%40er:p%3Ass@proxy.corp:3128", "CRM_PROXY"),
    {
      url: "http://proxy.corp:3128",
      basicAuth: { username: "us@er", password: "p:ss" },
    },
  );
  deepStrictEqual(parseProxy("proxy.corp:8080", "HTTPS_PROXY"), {
    url: "http://proxy.corp:8080",
    basicAuth: undefined,
  });
  throws(
    () => parseProxy("ftp://u:secret@x:21", "CRM_PROXY"),
    (e: unknown) =>
      e instanceof ProxySettingError && e.message.startsWith("CRM_PROXY") &&
      !e.message.includes("secret"),
  );
  throws(
    () => parseProxy("http://x:3128/path", "HTTPS_PROXY"),
    ProxySettingError,
  );
});

Deno.test("parseProxy() takes socks5:// and socks5h:// proxies, with or without credentials", () => {
  deepStrictEqual(parseProxy("socks5://proxy.corp:1080", "CRM_PROXY"), {
    url: "socks5://proxy.corp:1080",
    basicAuth: undefined,
  });
  deepStrictEqual(parseProxy("socks5h://u:p@proxy.corp:1080/", "CRM_PROXY"), {
    url: "socks5h://proxy.corp:1080",
    basicAuth: { username: "u", password: "p" },
  });
  throws(
    () => parseProxy("socks5://proxy.corp:1080/x", "CRM_PROXY"),
    ProxySettingError,
  );
});

Deno.test("bypassesProxy() matches domains with their subdomains, *, addresses and CIDR ranges", () => {
  const list =
    "example.com, .corp.local, 10.0.0.0/8, 192.168.1.7, ::1, fd00::/8";
  for (
    const host of [
      "example.com",
      "api.example.com",
      "corp.local",
      "crm.corp.local",
      "10.2.3.4",
      "192.168.1.7",
      "[::1]",
      "fd12::5",
    ]
  ) {
    equal(bypassesProxy(host, list), true, host);
  }
  for (
    const host of [
      "notexample.com",
      "example.com.evil",
      "11.0.0.1",
      "192.168.1.8",
      "[::2]",
      "localhost",
    ]
  ) {
    equal(bypassesProxy(host, list), false, host);
  }
  equal(bypassesProxy("anything", "*"), true);
  equal(bypassesProxy("anything", ""), false);
  equal(bypassesProxy("10.0.0.1", "10.0.0.0/99"), false);
});

Deno.test("bypassesProxy() takes bracketed IPv6 entries, *. domains, and entries naming a port", () => {
  equal(bypassesProxy("[::1]", "[::1]", 443), true);
  equal(bypassesProxy("[fd00::5]", "[fd00::5]:8443", 8443), true);
  equal(bypassesProxy("[fd00::5]", "[fd00::5]:8443", 443), false);
  equal(bypassesProxy("api.example.com", "*.example.com", 443), true);
  equal(bypassesProxy("crm.corp", "crm.corp:8443", 8443), true);
  equal(bypassesProxy("crm.corp", "crm.corp:8443", 443), false);
  equal(bypassesProxy("10.1.2.3", "10.1.2.3:443", 443), true);
  equal(bypassesProxy("10.1.2.3", "10.1.2.3:443", 80), false);
  // The port proxyFor() passes: the URL's, else the scheme's default.
  const vars = { HTTPS_PROXY: "http://p:1", NO_PROXY: "crm.corp:443" };
  equal(proxyFor(new URL("https://crm.corp/x"), vars), undefined);
  equal(proxyFor(new URL("https://crm.corp:8443/x"), vars)?.url, "http://p:1");
});

Deno.test("proxyFor() picks by scheme, honours NO_PROXY, and CRM_PROXY beats both", () => {
  const vars = {
    HTTPS_PROXY: "http://s:1",
    HTTP_PROXY: "http://p:2",
    NO_PROXY: "near.example",
  };
  equal(proxyFor(new URL("https://crm.example/x"), vars)?.url, "http://s:1");
  equal(proxyFor(new URL("http://crm.example/x"), vars)?.url, "http://p:2");
  equal(proxyFor(new URL("https://near.example/x"), vars), undefined);
  equal(proxyFor(new URL("https://crm.example/x"), {}), undefined);
  const crm = parseProxy("http://c:3", "CRM_PROXY");
  equal(proxyFor(new URL("https://near.example/x"), vars, crm), crm);
});
