import { CliError } from "./errors.js";

/** `due` if it is a real `YYYY-MM-DD` date; a CliError otherwise. */
export function parseDue(due) {
  const valid =
    typeof due === "string" &&
    /^\d{4}-\d{2}-\d{2}$/.test(due) &&
    !Number.isNaN(Date.parse(`${due}T00:00:00Z`)) &&
    new Date(`${due}T00:00:00Z`).toISOString().slice(0, 10) === due;
  if (!valid) throw new CliError(`due date must be a date as YYYY-MM-DD, got ${JSON.stringify(due)}`);
  return due;
}

/** Today's date (UTC) as `YYYY-MM-DD`. */
export function today(now) {
  return now.toISOString().slice(0, 10);
}

/** Whether `todo` is open and its due date is before `now`'s day. */
export function isOverdue(todo, now) {
  return !todo.done && todo.due !== undefined && todo.due < today(now);
}
