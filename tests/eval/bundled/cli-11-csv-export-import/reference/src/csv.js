import { CliError } from "./errors.js";

/** One CSV field, quoted when it holds a comma, a quote or a line break. */
function field(value) {
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV of `rows` (objects) with a header of `columns`. */
export function toCsv(rows, columns) {
  const lines = [columns.join(",")];
  for (const row of rows) lines.push(columns.map((c) => field(row[c] ?? "")).join(","));
  return lines.join("\r\n") + "\r\n";
}

/** The records of RFC 4180 `text` as arrays of strings; a CliError when a quote is never closed. */
export function parseCsv(text) {
  const records = [];
  let record = [];
  let value = "";
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        value += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else value += c;
      i += 1;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === ",") {
      record.push(value);
      value = "";
    } else if (c === "\n" || c === "\r") {
      record.push(value);
      records.push(record);
      record = [];
      value = "";
      if (c === "\r" && text[i + 1] === "\n") i += 1;
    } else value += c;
    i += 1;
  }
  if (quoted) throw new CliError("the CSV has a quote that is never closed");
  if (value !== "" || record.length > 0) {
    record.push(value);
    records.push(record);
  }
  return records;
}

/** The records of `text` as objects keyed by its header row. */
export function parseCsvObjects(text) {
  const [header = [], ...rows] = parseCsv(text);
  return {
    columns: header,
    rows: rows.map((r) => Object.fromEntries(header.map((name, i) => [name, r[i] ?? ""]))),
  };
}
