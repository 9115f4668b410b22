/**
 * Which proxy a request to the CRM goes through. `CRM_PROXY`, when set, is
 * used for every CRM request; otherwise `HTTPS_PROXY` (https URLs) or
 * `HTTP_PROXY` (http URLs), unless `NO_PROXY` names the host. Upper-case
 * names win over lower-case ones, the environment over `--env-file`.
 *
 * `NO_PROXY` follows Deno's (and curl's) rules: comma-separated entries; a
 * domain matches itself and its subdomains, with or without a leading dot;
 * `*` matches every host; an IP address or CIDR range matches addresses.
 *
 * Pure: the variables are handed in, nothing is read here.
 *
 * @module
 */
import { BlockList, isIP } from "node:net";

/** A proxy URL that cannot be used; names the setting it came from. */
export class ProxySettingError extends Error {
  override name = "ProxySettingError";
}

/** A proxy, its credentials kept apart so its URL can be shown. */
export interface Proxy {
  /** Scheme, host and port only: safe to log. */
  url: string;
  /** From the URL's `user:password@`, percent-decoded. */
  basicAuth?: { username: string; password: string };
}

/** The proxy variables in force, after upper/lower case and sources. */
export interface ProxyVariables {
  HTTPS_PROXY?: string;
  HTTP_PROXY?: string;
  NO_PROXY?: string;
}

const NAMES = ["HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"] as const;

/**
 * The proxy variables from `sources`, the first source that sets a variable
 * (in upper or lower case; upper first) winning. A blank value is unset.
 *
 * @example
 * ```ts
 * proxyVariables({ https_proxy: "http://a:3128" }, { HTTPS_PROXY: "http://b:3128" });
 * // { HTTPS_PROXY: "http://a:3128" }
 * ```
 */
export function proxyVariables(
  ...sources: Record<string, string | undefined>[]
): ProxyVariables {
  const out: ProxyVariables = {};
  for (const name of NAMES) {
    for (const source of sources) {
      const value = source[name]?.trim() || source[name.toLowerCase()]?.trim();
      if (value) {
        out[name] = value;
        break;
      }
    }
  }
  return out;
}

/**
 * Parse a proxy URL (`http://user:pass@host:3128`; a bare `host:port` means
 * http). Throws {@link ProxySettingError} naming `setting` (never quoting
 * the credentials).
 */
export function parseProxy(text: string, setting: string): Proxy {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text)
    ? text
    : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ProxySettingError(
      `${setting} is not a proxy URL such as http://proxy.example:3128`,
    );
  }
  if (!["http:", "https:", "socks5:", "socks5h:"].includes(url.protocol)) {
    throw new ProxySettingError(
      `${setting} must be an http://, https:// or socks5:// proxy URL, got ${url.protocol}//…`,
    );
  }
  // A socks5:// URL (not a scheme the URL parser knows) has an empty path.
  if (!["", "/"].includes(url.pathname) || url.search || url.hash) {
    throw new ProxySettingError(
      `${setting} must name only the proxy's scheme, host and port (${url.protocol}//${url.host})`,
    );
  }
  const basicAuth = url.username || url.password
    ? {
      username: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
    }
    : undefined;
  return { url: `${url.protocol}//${url.host}`, basicAuth };
}

/**
 * The proxy for a request to `target`: `override` (CRM_PROXY) if given, else
 * the variable for the target's scheme unless `NO_PROXY` names its host;
 * undefined means a direct connection.
 */
export function proxyFor(
  target: URL,
  vars: ProxyVariables,
  override?: Proxy,
): Proxy | undefined {
  if (override) return override;
  const [setting, value] = target.protocol === "https:"
    ? ["HTTPS_PROXY", vars.HTTPS_PROXY]
    : ["HTTP_PROXY", vars.HTTP_PROXY];
  const port = Number(target.port) ||
    (target.protocol === "https:" ? 443 : 80);
  if (!value || bypassesProxy(target.hostname, vars.NO_PROXY, port)) {
    return undefined;
  }
  return parseProxy(value, setting);
}

/**
 * True when `noProxy` (a NO_PROXY value) names `host`, reached on `port`.
 * An entry is `*` (every host); a domain, covering its subdomains (a
 * leading `.` or `*.` optional); an IP address (IPv6 with or without
 * brackets) or CIDR range. A domain or address may end in `:port`, and then
 * names only that port.
 *
 * @example
 * ```ts
 * bypassesProxy("crm.corp.example", ".corp.example, 10.0.0.0/8", 443); // true
 * bypassesProxy("crm.corp.example", "crm.corp.example:8443", 443); // false
 * ```
 */
export function bypassesProxy(
  host: string,
  noProxy = "",
  port?: number,
): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  const family = isIP(bare);
  return noProxy.split(",").some((text) => {
    const entry = noProxyEntry(text.trim().toLowerCase());
    if (!entry || (entry.port !== undefined && entry.port !== port)) {
      return false;
    }
    if (entry.name === "*") return true;
    if (family) return matchesAddress(bare, family, entry.name);
    const domain = entry.name.replace(/^\*?\./, "");
    return bare === domain || bare.endsWith(`.${domain}`);
  });
}

/** A NO_PROXY entry as the host, address or range it names, and its port. */
function noProxyEntry(
  text: string,
): { name: string; port?: number } | undefined {
  if (text === "") return undefined;
  // [v6] or [v6]:port; name:port (an IPv6 address has more than one colon).
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ??
    /^([^:]+):(\d+)$/.exec(text);
  if (!m) return { name: text };
  return { name: m[1], port: m[2] === undefined ? undefined : Number(m[2]) };
}

/** Does the address `ip` (IPv4 or IPv6) fall in `entry` (an IP or CIDR)? */
function matchesAddress(ip: string, family: number, entry: string): boolean {
  const [base, bits] = entry.split("/");
  const entryFamily = isIP(base);
  if (entryFamily !== family) return false;
  const type = family === 4 ? "ipv4" : "ipv6";
  const list = new BlockList();
  if (bits === undefined) list.addAddress(base, type);
  else if (/^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)) {
    list.addSubnet(base, Number(bits), type);
  } else return false;
  return list.check(ip, type);
}
