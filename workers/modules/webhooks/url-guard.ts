/**
 * SSRF guard for webhook URLs, applied when a URL is saved and again before every send (a URL
 * saved under an older, looser rule must not be called).
 *
 * The host is judged after WHATWG URL parsing, which already turns the evasive IPv4 spellings
 * (`2130706433`, `0x7f.1`, `127.1`, `0177.0.0.1`) into dotted quads and compresses IPv6, so each
 * address has one form to check. Names that resolve to private addresses (DNS rebinding) cannot
 * be caught here: Workers cannot resolve names, and Cloudflare's fetch does not reach private
 * networks, which is the layer that covers them.
 */

export interface UrlGuardOptions {
  /** Local development only: permits loopback hosts, over http or https. */
  allowLoopback: boolean;
  /** The deployment setting that allows loopback, named in the refusal. Default: the webhooks'. */
  loopbackSetting?: string;
  /** Where a credential goes instead of the URL, said in the refusal. Default: the webhooks'. */
  credentialsHint?: string;
}

export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

type Cidr = readonly [base: number, prefixLength: number];

const ipv4 = (a: number, b: number, c: number, d: number) =>
  ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

/** IPv4 ranges that are not the public internet (IANA special-purpose registry). */
const BLOCKED_IPV4: readonly (readonly [Cidr, string])[] = [
  [[ipv4(0, 0, 0, 0), 8], "'this network'"],
  [[ipv4(10, 0, 0, 0), 8], "private"],
  [[ipv4(100, 64, 0, 0), 10], "carrier-grade NAT"],
  [[ipv4(127, 0, 0, 0), 8], "loopback"],
  [[ipv4(169, 254, 0, 0), 16], "link-local (cloud metadata)"],
  [[ipv4(172, 16, 0, 0), 12], "private"],
  [[ipv4(192, 0, 0, 0), 24], "IETF protocol assignments"],
  [[ipv4(192, 0, 2, 0), 24], "documentation"],
  [[ipv4(192, 88, 99, 0), 24], "6to4 relay"],
  [[ipv4(192, 168, 0, 0), 16], "private"],
  [[ipv4(198, 18, 0, 0), 15], "benchmarking"],
  [[ipv4(198, 51, 100, 0), 24], "documentation"],
  [[ipv4(203, 0, 113, 0), 24], "documentation"],
  [[ipv4(224, 0, 0, 0), 4], "multicast"],
  [[ipv4(240, 0, 0, 0), 4], "reserved"],
];

/** Names that only mean something inside a network, never a public receiver. */
const INTERNAL_SUFFIXES = [
  "localhost",
  "internal",
  "local",
  "localdomain",
  "lan",
  "intranet",
  "home.arpa",
  "corp",
  "home",
];

function inCidr(address: number, [base, prefixLength]: Cidr): boolean {
  const mask = prefixLength === 0 ? 0 : (~0 << (32 - prefixLength)) >>> 0;
  return (address & mask) >>> 0 === (base & mask) >>> 0;
}

function parseIpv4(host: string): number | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!match) return undefined;
  const octets = match.slice(1).map(Number);
  if (octets.some((octet) => octet > 255)) return undefined;
  const [a = 0, b = 0, c = 0, d = 0] = octets;
  return ipv4(a, b, c, d);
}

/** Expands an IPv6 literal (without brackets) to eight 16-bit groups. */
function parseIpv6(host: string): number[] | undefined {
  let text = host.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const v4 = parseIpv4(dotted[1]);
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, -dotted[1].length)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string) =>
    part === "" ? [] : part.split(":").map((g) => Number.parseInt(g, 16));
  const head = parse(halves[0] ?? "");
  const tail = halves.length === 2 ? parse(halves[1] ?? "") : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...new Array<number>(Math.max(0, fill)).fill(0), ...tail];
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) return undefined;
  return groups;
}

function ipv4Reason(address: number): string | undefined {
  return BLOCKED_IPV4.find(([cidr]) => inCidr(address, cidr))?.[1];
}

/**
 * The IPv4 address inside the IPv6 forms that reach that IPv4 host, so it is the one to judge
 * (IANA IPv6 special-purpose registry): IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
 * `::a.b.c.d`, IPv4-translated `::ffff:0:a.b.c.d` (RFC 2765) and NAT64 `64:ff9b::a.b.c.d`.
 * The other embedding prefixes (local-use NAT64, 6to4, Teredo) are refused whole in ipv6Reason.
 */
function embeddedIpv4(groups: number[]): number | undefined {
  const [g0 = 0, g1 = 0, , , g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups;
  const zeroUpTo = (n: number) => groups.slice(0, n).every((g) => g === 0);
  const mapped = zeroUpTo(5) && (g5 === 0xffff || g5 === 0);
  const translated = zeroUpTo(4) && g4 === 0xffff && g5 === 0;
  const nat64 = g0 === 0x64 && g1 === 0xff9b && groups.slice(2, 6).every((g) => g === 0);
  return mapped || translated || nat64 ? ((g6 << 16) | g7) >>> 0 : undefined;
}

const LOOPBACK_V4: Cidr = [ipv4(127, 0, 0, 0), 8];

/**
 * The only loopback test: the refusal and the WEBHOOK_ALLOW_LOOPBACK exception both ask it, so
 * every spelling of 127/8 (IPv4 inside IPv6 included) is treated exactly like 127.0.0.1.
 * Returns what the host is, for the refusal message.
 */
function loopbackKind(host: string): "name" | "address" | "address (IPv4 inside IPv6)" | undefined {
  if (host === "localhost" || host.endsWith(".localhost")) return "name";
  const v4 = parseIpv4(host);
  if (v4 !== undefined) return inCidr(v4, LOOPBACK_V4) ? "address" : undefined;
  if (!host.startsWith("[")) return undefined;
  const groups = parseIpv6(host.slice(1, -1));
  if (!groups) return undefined;
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return "address";
  const embedded = embeddedIpv4(groups);
  return embedded !== undefined && inCidr(embedded, LOOPBACK_V4)
    ? "address (IPv4 inside IPv6)"
    : undefined;
}

type Cidr6 = readonly [prefix: readonly number[], prefixLength: number];

/**
 * Special-purpose ranges inside global unicast (2000::/3) that are not the public internet, or
 * that embed an IPv4 address (6to4, Teredo) whose target cannot be judged reliably.
 */
const BLOCKED_IPV6: readonly (readonly [Cidr6, string])[] = [
  [[[0x2001, 0x0000], 23], "IETF protocol assignments (Teredo, benchmarking, ORCHID)"],
  [[[0x2001, 0x0db8], 32], "documentation"],
  [[[0x2002], 16], "6to4 (embeds an IPv4 address)"],
  [[[0x2620, 0x004f, 0x8000], 48], "AS112 direct delegation"],
  [[[0x3fff], 20], "documentation"],
];

function inCidr6(groups: number[], [prefix, prefixLength]: Cidr6): boolean {
  for (let bit = 0; bit < prefixLength; bit += 16) {
    const take = Math.min(16, prefixLength - bit);
    const mask = (0xffff << (16 - take)) & 0xffff;
    const index = bit / 16;
    if (((groups[index] ?? 0) & mask) !== ((prefix[index] ?? 0) & mask)) return false;
  }
  return true;
}

/**
 * Non-loopback IPv6 ranges (loopbackKind has already ruled on loopback). Only global unicast
 * (2000::/3) is the public internet; everything outside it (unspecified, discard-only 100::/64,
 * local-use NAT64 64:ff9b:1::/48, SRv6, unique local, link-local, multicast…) is refused, except
 * the forms that embed an IPv4 address, which are judged by that address.
 */
function ipv6Reason(groups: number[]): string | undefined {
  const [g0 = 0] = groups;
  if (groups.every((g) => g === 0)) return "unspecified";
  const embedded = embeddedIpv4(groups);
  if (embedded !== undefined) {
    const reason = ipv4Reason(embedded);
    return reason ? `${reason} (IPv4 inside IPv6)` : undefined;
  }
  if ((g0 & 0xe000) !== 0x2000) {
    if ((g0 & 0xfe00) === 0xfc00) return "unique local (private)";
    if ((g0 & 0xffc0) === 0xfe80) return "link-local";
    if ((g0 & 0xffc0) === 0xfec0) return "site-local";
    if ((g0 & 0xff00) === 0xff00) return "multicast";
    if (g0 === 0x64 && groups[1] === 0xff9b) return "local-use NAT64";
    return "non-global (outside 2000::/3)";
  }
  return BLOCKED_IPV6.find(([cidr]) => inCidr6(groups, cidr))?.[1];
}

/**
 * Decides whether a webhook may be sent to `raw`; the reason says what to change. The same rules
 * guard every URL a project chooses for this worker to call (a model provider's too).
 */
export function checkWebhookUrl(raw: string, options: UrlGuardOptions): UrlVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "is not an absolute URL" };
  }
  if (url.username || url.password) {
    return {
      ok: false,
      reason: `must not contain credentials; ${options.credentialsHint ?? "use the signing secret instead"}`,
    };
  }
  // A trailing dot names the same host (`localhost.`); drop it so it cannot slip past a check.
  const host = url.hostname.toLowerCase().replace(/\.+$/, "");
  const loopback = loopbackKind(host);
  if (loopback && options.allowLoopback) {
    if (url.protocol === "https:" || url.protocol === "http:") return { ok: true, url };
    return { ok: false, reason: "must use http or https" };
  }
  if (loopback) {
    return {
      ok: false,
      reason: `points at a loopback ${loopback} (allowed only by ${options.loopbackSetting ?? "WEBHOOK_ALLOW_LOOPBACK"} in local development)`,
    };
  }
  if (url.protocol !== "https:") return { ok: false, reason: "must use https" };
  if (host === "") return { ok: false, reason: "has no host" };

  const v4 = parseIpv4(host);
  if (v4 !== undefined) {
    const reason = ipv4Reason(v4);
    return reason ? { ok: false, reason: `points at a ${reason} address` } : { ok: true, url };
  }
  if (host.startsWith("[")) {
    const groups = parseIpv6(host.slice(1, -1));
    if (!groups) return { ok: false, reason: "has an IPv6 address that cannot be read" };
    const reason = ipv6Reason(groups);
    return reason ? { ok: false, reason: `points at a ${reason} address` } : { ok: true, url };
  }
  if (!host.includes(".")) {
    return { ok: false, reason: "must use a public, fully qualified host name" };
  }
  const internal = INTERNAL_SUFFIXES.find(
    (suffix) => host === suffix || host.endsWith(`.${suffix}`),
  );
  if (internal) return { ok: false, reason: `points at an internal name (.${internal})` };
  return { ok: true, url };
}
