/** A parsed query string: repeated keys become arrays. */
export type Query = Record<string, string | string[]>;

/** A value `stringifyQuery` writes; `undefined` and `null` are left out. */
export type QueryValue = string | number | boolean | null | undefined;

function decode(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, " "));
}

/** Parses `?a=1&b=2&b=3&c` into `{ a: "1", b: ["2", "3"], c: "" }`. */
export function parseQuery(input: string): Query {
  const out: Query = Object.create(null);
  const text = input.startsWith("?") ? input.slice(1) : input;
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = decode(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? "" : decode(pair.slice(eq + 1));
    const seen = out[key];
    if (seen === undefined) out[key] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else out[key] = [seen, value];
  }
  return out;
}

/** Writes `{ a: 1, b: [2, 3] }` as `a=1&b=2&b=3`, leaving out null and undefined. */
export function stringifyQuery(query: Record<string, QueryValue | readonly QueryValue[]>): string {
  const parts: string[] = [];
  for (const [key, raw] of Object.entries(query)) {
    const values = Array.isArray(raw) ? raw : [raw];
    for (const value of values as readonly QueryValue[]) {
      if (value === undefined || value === null) continue;
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
    }
  }
  return parts.join("&");
}
