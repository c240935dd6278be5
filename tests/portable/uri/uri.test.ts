// uri/uri.ts: coap:// URIs to options and back (RFC 7252 §6.1, §6.3, §6.4, §6.5, Appendix B).
// Portable: no Node APIs.
import * as assert from "../../support/assert.js";
import { composeCoapUri, parseCoapUri, percentDecode, percentEncode, type CoapUri } from "../../../modules/coap/uri/uri.js";

function ok(text: string): CoapUri {
	const r = parseCoapUri(text);
	if (typeof r === "string") return assert.fail("parse of " + text + " failed: " + r);
	return r;
}

function bad(text: string): string {
	const r = parseCoapUri(text);
	if (typeof r !== "string") return assert.fail("parse of " + text + " should fail, got " + JSON.stringify(r));
	assert.ok(r.length > 0);
	return r;
}

describe("uri: parseCoapUri (RFC 7252 §6.4)", () => {
	it("§6.3: the three equivalent URIs decompose to the same options", () => {
		const expected: CoapUri = { host: "example.com", hostIsLiteral: false, port: 5683, path: ["~sensors", "temp.xml"], query: [] };
		assert.deepEqual(ok("coap://example.com:5683/~sensors/temp.xml"), expected);
		assert.deepEqual(ok("coap://EXAMPLE.com/%7Esensors/temp.xml"), expected);
		assert.deepEqual(ok("coap://EXAMPLE.com:/%7esensors/temp.xml"), expected);
	});

	it("Appendix B: an IPv6 literal and the default port give no Uri-Host, no Uri-Port, no Uri-Path", () => {
		assert.deepEqual(ok("coap://[2001:db8::2:1]/"), { host: "2001:db8::2:1", hostIsLiteral: true, port: 5683, path: [], query: [] });
	});

	it("Appendix B: coap://example.net/.well-known/core", () => {
		assert.deepEqual(ok("coap://example.net/.well-known/core"), { host: "example.net", hostIsLiteral: false, port: 5683, path: [".well-known", "core"], query: [] });
	});

	it("Appendix B: a percent-encoded UTF-8 path segment", () => {
		const u = ok("coap://xn--18j4d.example/%E3%81%93%E3%82%93%E3%81%AB%E3%81%A1%E3%81%AF");
		assert.equal(u.host, "xn--18j4d.example");
		assert.deepEqual(u.path, ["\u3053\u3093\u306b\u3061\u306f"]);
	});

	it("Appendix B: coap://198.51.100.1:61616//%2F//?%2F%2F&?%26", () => {
		assert.deepEqual(ok("coap://198.51.100.1:61616//%2F//?%2F%2F&?%26"), {
			host: "198.51.100.1",
			hostIsLiteral: true,
			port: 61616,
			path: ["", "/", "", ""],
			query: ["//", "?&"],
		});
	});

	it("IPv6 literals: brackets removed, port after the bracket, the address in its RFC 5952 form, the zone percent-decoded (RFC 6874)", () => {
		assert.deepEqual(ok("coap://[::1]:61616/a?b"), { host: "::1", hostIsLiteral: true, port: 61616, path: ["a"], query: ["b"] });
		assert.equal(ok("coap://[FE80::1%25eth0]/").host, "fe80::1%eth0");
		assert.equal(ok("coap://[::1%25lo]/").host, "::1", "a zone only for link-local scopes, as sockets report sources");
		assert.equal(ok("coap://[ff02::fd%25eth0]/").host, "ff02::fd%eth0");
		assert.equal(ok("coap://[0:0:0:0:0:0:0:1]/").host, "::1");
		assert.equal(ok("coap://[2001:DB8:0:0:1:0:0:1]/").host, "2001:db8::1:0:0:1");
		assert.equal(ok("coap://[::ffff:192.0.2.1]").host, "192.0.2.1", "IPv4-mapped: the IPv4 address its datagrams come from");
		assert.equal(ok("coap://[::FFFF:c000:201]").host, "192.0.2.1");
		for (const bad of ["coap://[1::2::3]/", "coap://[12345::1]/", "coap://[::1%25]/", "coap://[1:2:3:4:5:6:7:8:9]/", "coap://[:1]/", "coap://[1:]/", "coap://[::1%eth0]/"]) {
			assert.equal(typeof parseCoapUri(bad), "string", bad + " is refused");
		}
	});

	it("IPv4 literals with leading zeros are refused (ambiguous: octal in some parsers, RFC 3986 §7.4)", () => {
		assert.match(parseCoapUri("coap://127.000.000.001/") as string, /leading zeros/);
		assert.match(parseCoapUri("coap://010.0.0.1/") as string, /leading zeros/);
		assert.equal(ok("coap://10.0.0.1/").host, "10.0.0.1");
		assert.equal(ok("coap://0.0.0.0/").host, "0.0.0.0");
	});

	it("scheme and host are case-insensitive; the host is lower-cased and percent-decoded (§6.4 step 5)", () => {
		const u = ok("COAP://Ex%41mple.ORG/A");
		assert.equal(u.host, "example.org");
		assert.deepEqual(u.path, ["A"], "the path is case-sensitive");
	});

	it("the default port, an explicit port, an empty port", () => {
		assert.equal(ok("coap://h/").port, 5683);
		assert.equal(ok("coap://h:5683/").port, 5683);
		assert.equal(ok("coap://h:/").port, 5683);
		assert.equal(ok("coap://h:0/").port, 0);
		assert.equal(ok("coap://h:65535/").port, 65535);
		assert.equal(ok("coap://h:5684").port, 5684);
	});

	it("empty path and \"/\" give no Uri-Path; a trailing slash gives an empty last segment (§6.4 step 8)", () => {
		assert.deepEqual(ok("coap://h").path, []);
		assert.deepEqual(ok("coap://h/").path, []);
		assert.deepEqual(ok("coap://h?x").path, []);
		assert.deepEqual(ok("coap://h/a").path, ["a"]);
		assert.deepEqual(ok("coap://h/a/").path, ["a", ""]);
		assert.deepEqual(ok("coap://h//").path, ["", ""]);
		assert.deepEqual(ok("coap://h/a:b@c").path, ["a:b@c"]);
	});

	it("the query splits on & and each argument is percent-decoded (§6.4 step 9)", () => {
		assert.deepEqual(ok("coap://h/p?a=1&b=%26&c").query, ["a=1", "b=&", "c"]);
		assert.deepEqual(ok("coap://h/p?a%3Db").query, ["a=b"]);
		assert.deepEqual(ok("coap://h/p?a&&b").query, ["a", "", "b"]);
		assert.deepEqual(ok("coap://h/p?x=/y?z").query, ["x=/y?z"]);
		assert.deepEqual(ok("coap://h/p?").query, []);
		assert.deepEqual(ok("coap://h/p").query, []);
		assert.deepEqual(ok("coap://h/p?%C3%A9").query, ["é"]);
	});

	it("percent-decodes path segments, including %2F and %25, and keeps non-ASCII text", () => {
		assert.deepEqual(ok("coap://h/a%2Fb/%25/%20x").path, ["a/b", "%", " x"]);
		assert.deepEqual(ok("coap://h/caf%C3%A9").path, ["café"]);
		assert.deepEqual(ok("coap://h/café").path, ["café"], "an IRI-style character is taken as UTF-8 text");
		assert.deepEqual(ok("coap://h/😀%21").path, ["😀!"], "an astral character next to an escape");
		assert.deepEqual(ok("coap://h/é%21").path, ["é!"]);
	});

	it("errors return a message string", () => {
		assert.match(bad("coaps://h/"), /coaps/);
		assert.match(bad("http://h/"), /http/);
		assert.match(bad("coap://h/#frag"), /fragment/);
		bad("coap://h/#");
		bad("coap://h/p?q#f");
		assert.match(bad("coap://h/%zz"), /percent/);
		bad("coap://h/%4");
		bad("coap://h/a%");
		bad("coap://h/p?a=%G0");
		bad("coap://h%/");
		assert.match(bad("coap://h:99999/"), /port/);
		bad("coap://h:65536/");
		bad("coap://h:abc/");
		bad("coap://h:80x/");
		bad("coap://h:-1/");
		bad("coap:///path");
		bad("coap:/h/p");
		bad("/relative/path");
		bad("");
		bad("coap://[zz::1]/");
		bad("coap://[1.2.3.4]/");
		bad("coap://[::1/");
		bad("coap://h/./a");
		bad("coap://h/a/..");
		bad("coap://h/a/%2E%2E");
	});
});

describe("uri: composeCoapUri (RFC 7252 §6.5)", () => {
	it("Appendix B examples", () => {
		assert.equal(composeCoapUri("2001:db8::2:1", 5683, [], []), "coap://[2001:db8::2:1]/");
		assert.equal(composeCoapUri("example.net", 5683, [], []), "coap://example.net/");
		assert.equal(composeCoapUri("example.net", 5683, [".well-known", "core"], []), "coap://example.net/.well-known/core");
		assert.equal(composeCoapUri("xn--18j4d.example", 5683, ["\u3053\u3093\u306b\u3061\u306f"], []),
			"coap://xn--18j4d.example/%E3%81%93%E3%82%93%E3%81%AB%E3%81%A1%E3%81%AF");
		// The RFC prints "?%2F%2F&?%26": §6.5 step 9 leaves "/" and "?" unencoded in a query, so
		// this composes "?//&?%26"; both decompose to the same Uri-Query values.
		const u = composeCoapUri("198.51.100.1", 61616, ["", "/", "", ""], ["//", "?&"]);
		assert.equal(u, "coap://198.51.100.1:61616//%2F//?//&?%26");
		assert.deepEqual(ok(u), ok("coap://198.51.100.1:61616//%2F//?%2F%2F&?%26"));
	});

	it("§6.3: the normal form of the equivalent URIs", () => {
		assert.equal(composeCoapUri("example.com", 5683, ["~sensors", "temp.xml"], []), "coap://example.com/~sensors/temp.xml");
	});

	it("percent-encodes what is not pchar (path) or query-safe, in upper-case hex", () => {
		assert.equal(percentEncode("a b/c?d#e%f&g=h:i@j"), "a%20b%2Fc%3Fd%23e%25f&g=h:i@j");
		assert.equal(percentEncode("a b/c?d#e%f&g=h:i@j", true), "a%20b/c?d%23e%25f%26g=h:i@j");
		assert.equal(percentEncode("é😀"), "%C3%A9%F0%9F%98%80");
		assert.equal(percentEncode("-._~!$'()*+,;="), "-._~!$'()*+,;=");
		assert.equal(percentDecode("%C3%A9%f0%9f%98%80"), "é😀");
		assert.equal(percentDecode("plain"), "plain");
		assert.equal(percentDecode("%"), null);
		assert.equal(percentDecode("%2"), null);
		assert.equal(percentDecode("%-1"), null);
	});

	it("compose(parse(x)) returns x for URIs in normal form", () => {
		const uris = [
			"coap://example.com/~sensors/temp.xml",
			"coap://example.com/",
			"coap://[::1]:1234/a/b?c=d&e",
			"coap://[2001:db8::1]/",
			"coap://10.0.0.1/",
			"coap://10.0.0.1:5684/x",
			"coap://h/a%20b/%2F/caf%C3%A9?q%26=1&r=/s?",
			"coap://h/a//b/",
			"coap://h/.well-known/core?rt=temp*",
		];
		for (const x of uris) {
			const u = ok(x);
			assert.equal(composeCoapUri(u.host, u.port, u.path, u.query), x);
		}
	});

	it("parse(compose(options)) returns the options, whatever characters they hold", () => {
		const segments = ["a", "b c", "x/y", "50%", "q?", "#h", "&=", "é", "😀", ":@", "~", "-._"];
		for (let i = 0; i < segments.length; i++) {
			const path = [segments[i]!, segments[(i + 3) % segments.length]!];
			const query = [segments[(i + 5) % segments.length]!, "k=" + segments[(i + 7) % segments.length]!];
			const u = ok(composeCoapUri("example.org", 1000 + i, path, query));
			assert.deepEqual(u, { host: "example.org", hostIsLiteral: false, port: 1000 + i, path, query });
		}
	});
});
