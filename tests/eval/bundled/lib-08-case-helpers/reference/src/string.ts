/** Upper-cases the first character. */
export function capitalize(s: string): string {
  return s[0].toUpperCase() + s.slice(1);
}

/**
 * Shortens `s` to at most `max` characters, ending with `suffix` when it
 * had to cut.
 */
export function truncate(s: string, max: number, suffix = "…"): string {
  if (s.length <= max) return s;
  return s.slice(0, max) + suffix;
}

/** A URL-friendly version of `s`: lower case, words joined by `-`. */
export function slugify(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** Repeats `pad` on the left until `s` is `width` characters long. */
export function padStart(s: string, width: number, pad = " "): string {
  if (pad.length === 0) return s;
  let out = s;
  while (out.length < width) out = pad + out;
  return out.slice(out.length - Math.max(width, s.length));
}

/** Counts the words of `s` (runs of non-space characters). */
export function wordCount(s: string): number {
  const words = s.trim().split(/\s+/);
  return words[0] === "" ? 0 : words.length;
}

/** The words of `s`: split on non-alphanumerics and case changes. */
function words(s: string): string[] {
  return s.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g) ?? [];
}

/** `fooBarBaz` from any casing or separators. */
export function camelCase(s: string): string {
  return words(s)
    .map((w, i) => (i === 0 ? w.toLowerCase() : capitalize(w.toLowerCase())))
    .join("");
}

/** `foo-bar-baz` from any casing or separators. */
export function kebabCase(s: string): string {
  return words(s).map((w) => w.toLowerCase()).join("-");
}

/** `foo_bar_baz` from any casing or separators. */
export function snakeCase(s: string): string {
  return words(s).map((w) => w.toLowerCase()).join("_");
}
