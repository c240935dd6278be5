// Portable assertions for tests that run on Node (mocha) and on XS (xsnap):
// plain ES2022, no Node APIs. Every failure throws an AssertionError whose
// message shows the values involved. Use instead of node:assert.

export class AssertionError extends Error {
  readonly actual: unknown;
  readonly expected: unknown;
  constructor(message: string, actual?: unknown, expected?: unknown) {
    super(message);
    this.actual = actual;
    this.expected = expected;
  }
  // A getter, not `this.name = ...`: assigning name fails on frozen Error prototypes (XS preload).
  override get name(): string {
    return "AssertionError";
  }
}

/** Short readable rendering of a value for failure messages. */
export function inspect(value: unknown, depth = 0): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (typeof value === "function") return `[Function ${value.name || "anonymous"}]`;
  if (typeof value !== "object" || value === null) return String(value);
  if (value instanceof Uint8Array) {
    let s = "";
    for (let i = 0; i < value.length && i < 64; i++) s += (i ? " " : "") + value[i].toString(16).padStart(2, "0");
    return `Uint8Array(${value.length}) [${s}${value.length > 64 ? " ..." : ""}]`;
  }
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (depth > 2) return Array.isArray(value) ? "[...]" : "{...}";
  if (Array.isArray(value)) return `[${value.slice(0, 20).map((v) => inspect(v, depth + 1)).join(", ")}${value.length > 20 ? ", ..." : ""}]`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<unknown>).length ?? value.byteLength})`;
  if (value instanceof Map) return `Map(${value.size})`;
  if (value instanceof Set) return `Set(${value.size})`;
  const proto = Object.getPrototypeOf(value);
  const prefix = proto && proto !== Object.prototype && proto.constructor ? proto.constructor.name + " " : "";
  const body = Object.keys(value).map((k) => `${k}: ${inspect((value as Record<string, unknown>)[k], depth + 1)}`);
  return `${prefix}{${body.join(", ")}}`;
}

function failure(message: string | undefined, fallback: string, actual?: unknown, expected?: unknown): AssertionError {
  return new AssertionError(message ? `${message}: ${fallback}` : fallback, actual, expected);
}

export function fail(message = "failed"): never {
  throw new AssertionError(message);
}

export function ok(value: unknown, message?: string): asserts value {
  if (!value) throw failure(message, `expected a truthy value, got ${inspect(value)}`, value, true);
}

/** Strict equality (Object.is: NaN equals NaN, 0 differs from -0). */
export function equal<T>(actual: unknown, expected: T, message?: string): asserts actual is T {
  if (!Object.is(actual, expected)) {
    throw failure(message, `expected ${inspect(actual)} to equal ${inspect(expected)}`, actual, expected);
  }
}

export function notEqual(actual: unknown, expected: unknown, message?: string): void {
  if (Object.is(actual, expected)) throw failure(message, `expected a value other than ${inspect(expected)}`, actual, expected);
}

// Returns undefined when equal, else a description of the first difference.
function difference(a: unknown, b: unknown, path: string, seen: unknown[][]): string | undefined {
  const here = () => `${path ? `at ${path}: ` : ""}${inspect(a)} !== ${inspect(b)}`;
  if (Object.is(a, b)) return undefined;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return here();
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${path ? `at ${path}: ` : ""}different types: ${inspect(a)} vs ${inspect(b)}`;
  if (seen.some(([x, y]) => x === a && y === b)) return undefined;
  seen = [...seen, [a, b]];
  if (a instanceof ArrayBuffer) return difference(new Uint8Array(a), new Uint8Array(b as ArrayBuffer), path, seen);
  if (ArrayBuffer.isView(a)) {
    const x = a as unknown as ArrayLike<unknown>, y = b as unknown as ArrayLike<unknown>;
    if (x.length !== y.length) return `${path ? `at ${path}: ` : ""}length ${x.length} !== ${y.length}: ${here()}`;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return `${path}[${i}]: ${inspect(x[i])} !== ${inspect(y[i])} in ${here()}`;
    return undefined;
  }
  if (a instanceof Error && (a.name !== (b as Error).name || a.message !== (b as Error).message)) return here();
  if (a instanceof Date) return a.getTime() === (b as Date).getTime() ? undefined : here();
  if (a instanceof Map || a instanceof Set) {
    const x = [...a.entries()], y = [...(b as Map<unknown, unknown>).entries()];
    return difference(x, y, path, seen);
  }
  if (Array.isArray(a) && a.length !== (b as unknown[]).length) return `${path ? `at ${path}: ` : ""}length ${a.length} !== ${(b as unknown[]).length}: ${here()}`;
  const ka = Object.keys(a), kb = Object.keys(b);
  for (const k of kb) if (!Object.prototype.hasOwnProperty.call(a, k)) return `${path ? `at ${path}: ` : ""}missing key ${JSON.stringify(k)} in ${inspect(a)}`;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return `${path ? `at ${path}: ` : ""}unexpected key ${JSON.stringify(k)} in ${inspect(a)}`;
    const key = Array.isArray(a) ? `[${k}]` : `.${k}`;
    const d = difference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path + key, seen);
    if (d) return d;
  }
  return undefined;
}

/** Structural equality: same prototypes, typed arrays element-wise, own enumerable keys recursively. */
export function deepEqual<T>(actual: unknown, expected: T, message?: string): asserts actual is T {
  const d = difference(actual, expected, "", []);
  if (d) throw failure(message, `deepEqual failed: ${d}`, actual, expected);
}

/** An error class, a RegExp (tested on the message), a substring of the message, a predicate, or an object of expected properties. */
export type Matcher = RegExp | string | ((err: unknown) => boolean) | (abstract new (...args: never[]) => unknown) | Record<string, unknown>;

function check(err: unknown, matcher: Matcher | undefined, what: string, message?: string): void {
  if (matcher === undefined) return;
  const msg = err instanceof Error ? err.message : String(err);
  let good: boolean;
  let want: string;
  if (matcher instanceof RegExp) {
    matcher.lastIndex = 0;
    good = matcher.test(msg);
    want = `a message matching ${matcher}`;
  } else if (typeof matcher === "string") {
    good = msg.includes(matcher);
    want = `a message containing ${JSON.stringify(matcher)}`;
  } else if (typeof matcher === "function") {
    const isClass = matcher === Error || matcher.prototype instanceof Error;
    good = isClass ? err instanceof matcher : (matcher as (e: unknown) => boolean)(err) === true;
    want = isClass ? `an instance of ${matcher.name}` : `an error accepted by ${inspect(matcher)}`;
  } else {
    const e = err as Record<string, unknown>;
    const bad = Object.keys(matcher).find((k) => {
      const m = matcher[k], v = e == null ? undefined : e[k];
      return m instanceof RegExp ? !(typeof v === "string" && m.test(v)) : difference(v, m, "", []) !== undefined;
    });
    good = bad === undefined;
    want = `an error with ${inspect(matcher)}${bad ? ` (${bad} is ${inspect(e == null ? undefined : e[bad])})` : ""}`;
  }
  if (!good) throw failure(message, `${what} ${inspect(err)}, expected ${want}`, err, matcher);
}

/** Asserts that fn throws synchronously (and that the error matches); returns the error. */
export function throws(fn: () => unknown, matcher?: Matcher, message?: string): unknown {
  let result: unknown;
  try {
    result = fn();
  } catch (err) {
    check(err, matcher, "threw", message);
    return err;
  }
  if (result && typeof (result as PromiseLike<unknown>).then === "function") {
    (result as PromiseLike<unknown>).then(undefined, () => undefined); // no unhandled rejection
    throw failure(message, "expected a synchronous throw but the function returned a promise (use rejects)");
  }
  throw failure(message, `expected the function to throw, it returned ${inspect(result)}`);
}

/** Asserts that the promise (or the promise returned by fn) rejects (and that the reason matches); resolves to the reason. */
export async function rejects(promiseOrFn: PromiseLike<unknown> | (() => PromiseLike<unknown>), matcher?: Matcher, message?: string): Promise<unknown> {
  const promise = typeof promiseOrFn === "function" ? promiseOrFn() : promiseOrFn;
  if (!promise || typeof promise.then !== "function") throw failure(message, `expected a promise, got ${inspect(promise)}`);
  let value: unknown;
  try {
    value = await promise;
  } catch (err) {
    check(err, matcher, "rejected with", message);
    return err;
  }
  throw failure(message, `expected a rejection, the promise resolved to ${inspect(value)}`);
}

export function match(actual: string, regexp: RegExp, message?: string): void {
  if (typeof actual !== "string") throw failure(message, `expected a string to match ${regexp}, got ${inspect(actual)}`, actual, regexp);
  regexp.lastIndex = 0;
  if (!regexp.test(actual)) throw failure(message, `expected ${inspect(actual)} to match ${regexp}`, actual, regexp);
}
