type PlainObject = Record<string, unknown>;

/** A copy of `obj` with only `keys`. */
export function pick<T extends object, K extends keyof T>(obj: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const key of keys) {
    if (key in obj) out[key] = obj[key];
  }
  return out;
}

/** A copy of `obj` without `keys`. */
export function omit<T extends object, K extends keyof T>(obj: T, keys: readonly K[]): Omit<T, K> {
  const out = { ...obj };
  for (const key of keys) delete out[key];
  return out;
}

/** Keys that would reach a prototype instead of setting a property. */
const UNSAFE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Merges `source` into a copy of `target`, recursing into nested plain
 * objects; arrays and other values from `source` replace those of `target`.
 * `__proto__`, `constructor` and `prototype` keys are skipped.
 */
export function deepMerge<T extends PlainObject, S extends PlainObject>(target: T, source: S): T & S {
  const out: PlainObject = { ...target };
  for (const key of Object.keys(source)) {
    if (UNSAFE_KEYS.has(key)) continue;
    const value = source[key];
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out as T & S;
}
