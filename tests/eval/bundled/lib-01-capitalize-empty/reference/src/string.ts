/** Upper-cases the first character. */
export function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
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
