// Tests of the portable test support (tests/support/assert.ts, bytes.ts) and
// of the test harness itself (hooks, async tests); runs on Node and on XS.
import * as assert from "../support/assert.js";
import { hex, toHex } from "../support/bytes.js";

// Runs fn, which must throw an AssertionError; returns its message.
function failsWith(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof assert.AssertionError)) throw new Error(`expected an AssertionError, got ${String(e)}`);
    return e.message;
  }
  throw new Error("expected the assertion to fail, it passed");
}

describe("support/bytes", () => {
  it("hex parses, ignoring whitespace and case", () => {
    assert.deepEqual(hex("40 01 7D 34\n b1"), new Uint8Array([0x40, 0x01, 0x7d, 0x34, 0xb1]));
    assert.equal(hex("").length, 0);
  });
  it("hex rejects odd lengths and non-hex digits", () => {
    assert.throws(() => hex("abc"), TypeError);
    assert.throws(() => hex("zz"), /not a hex string/);
  });
  it("toHex renders lowercase, with an optional separator, and round-trips", () => {
    const b = new Uint8Array([0, 1, 0xab, 0xff]);
    assert.equal(toHex(b), "0001abff");
    assert.equal(toHex(b, " "), "00 01 ab ff");
    assert.deepEqual(hex(toHex(b)), b);
  });
});

describe("support/assert", () => {
  it("equal / notEqual compare with Object.is", () => {
    assert.equal(1, 1);
    assert.equal(NaN, NaN);
    assert.notEqual(0, -0);
    assert.notEqual("1", 1);
    assert.match(failsWith(() => assert.equal(1, 2)), /expected 1 to equal 2/);
    assert.match(failsWith(() => assert.equal("a", "b", "context")), /^context: expected "a" to equal "b"$/);
    failsWith(() => assert.notEqual(3, 3));
  });

  it("ok accepts truthy and rejects falsy values", () => {
    assert.ok(1);
    assert.ok("x");
    assert.match(failsWith(() => assert.ok(0)), /truthy.*got 0/);
    failsWith(() => assert.ok(undefined));
  });

  it("deepEqual handles Uint8Array, arrays and plain objects", () => {
    assert.deepEqual({ a: [1, { b: new Uint8Array([1, 2]) }], c: "x" }, { c: "x", a: [1, { b: new Uint8Array([1, 2]) }] });
    assert.deepEqual([], []);
    assert.match(failsWith(() => assert.deepEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))), /\[1\]: 02 !== 03|\[1\]: 2 !== 3/);
    assert.match(failsWith(() => assert.deepEqual(new Uint8Array(2), new Uint8Array(3))), /length 2 !== 3/);
    assert.match(failsWith(() => assert.deepEqual({ a: { b: 1 } }, { a: { b: 2 } })), /at \.a\.b: 1 !== 2/);
    assert.match(failsWith(() => assert.deepEqual([1, 2], [1, 2, 3])), /length 2 !== 3/);
    assert.match(failsWith(() => assert.deepEqual({ a: 1 }, { a: 1, b: 2 })), /missing key "b"/);
    assert.match(failsWith(() => assert.deepEqual(new Uint8Array([1]), [1])), /different types/);
    failsWith(() => assert.deepEqual(new Uint8Array([1]), new Uint16Array([1])));
  });

  it("throws checks the error against a class, RegExp, predicate or properties", () => {
    const boom = () => { throw new RangeError("too big"); };
    const err = assert.throws(boom, RangeError);
    assert.ok(err instanceof RangeError);
    assert.throws(boom, /too big/);
    assert.throws(boom, "big");
    assert.throws(boom, (e) => e instanceof RangeError);
    assert.throws(boom, { name: "RangeError", message: /too/ });
    assert.match(failsWith(() => assert.throws(() => 42)), /expected the function to throw, it returned 42/);
    assert.match(failsWith(() => assert.throws(boom, TypeError)), /instance of TypeError/);
    assert.match(failsWith(() => assert.throws(boom, /small/)), /matching \/small\//);
    assert.match(failsWith(() => assert.throws(async () => { throw new Error("late"); })), /use rejects/);
  });

  it("rejects checks a rejected promise or async function", async () => {
    await assert.rejects(Promise.reject(new TypeError("nope")), TypeError);
    const reason = await assert.rejects(async () => { throw new Error("async nope"); }, /async/);
    assert.equal((reason as Error).message, "async nope");
    await assert.rejects(async () => { throw Object.assign(new Error("coded"), { code: "timeout" }); }, { code: "timeout" });
    const notRejected = await assert.rejects(() => assert.rejects(Promise.resolve(7)), assert.AssertionError);
    assert.match((notRejected as Error).message, /resolved to 7/);
    await assert.rejects(() => assert.rejects(Promise.reject(new Error("x")), RangeError), /instance of RangeError/);
  });

  it("match tests strings against a RegExp", () => {
    assert.match("coap://[::1]/.well-known/core", /well-known/);
    assert.match(failsWith(() => assert.match("abc", /d/)), /"abc" to match \/d\//);
    failsWith(() => assert.match(42 as unknown as string, /4/));
  });

  it("AssertionError is an Error named AssertionError", () => {
    const e = new assert.AssertionError("m", 1, 2);
    assert.ok(e instanceof Error);
    assert.equal(e.name, "AssertionError");
    assert.equal(e.actual, 1);
    assert.equal(e.expected, 2);
  });
});

describe("test harness", () => {
  const log: string[] = [];
  before(() => { log.push("before"); });
  beforeEach(() => { log.push("beforeEach"); });
  afterEach(() => { log.push("afterEach"); });

  it("runs hooks around tests", () => {
    assert.deepEqual(log, ["before", "beforeEach"]);
  });

  it("waits for promise-returning tests", async function () {
    this.timeout(5000);
    let value = 0;
    await Promise.resolve();
    value = await new Promise<number>((resolve) => { void Promise.resolve().then(() => resolve(5)); });
    assert.equal(value, 5);
  });

  it("supports done callbacks", (done) => {
    void Promise.resolve().then(() => done());
  });

  describe("nested", () => {
    beforeEach(() => { log.push("inner beforeEach"); });
    it("runs outer beforeEach hooks first", () => {
      assert.deepEqual(log.slice(-2), ["beforeEach", "inner beforeEach"]);
    });
  });
});
