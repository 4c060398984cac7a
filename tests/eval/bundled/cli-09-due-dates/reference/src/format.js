import { isOverdue } from "./due.js";

/** One line of `todo list`: `  3 [x] buy milk (due 2026-03-05)`. */
export function formatTodo(todo, now = new Date()) {
  const id = String(todo.id).padStart(3);
  let due = "";
  if (todo.due !== undefined) {
    due = isOverdue(todo, now) ? ` (overdue: ${todo.due})` : ` (due ${todo.due})`;
  }
  return `${id} [${todo.done ? "x" : " "}] ${todo.text}${due}`;
}

/** The lines of `todo list`. */
export function formatList(todos, now = new Date()) {
  return todos.map((todo) => formatTodo(todo, now)).join("\n");
}
