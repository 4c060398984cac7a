import { CliError } from "./errors.js";
import { parseDue } from "./due.js";

/** The next free id: one more than the largest. */
function nextId(todos) {
  return todos.reduce((max, t) => Math.max(max, t.id), 0) + 1;
}

/** A new open todo with `text` (and a `due` date if given), appended to `todos`. */
export function addTodo(todos, text, now, { due } = {}) {
  const trimmed = text.trim();
  if (trimmed === "") throw new CliError("a todo needs some text: todo add <text>");
  const todo = { id: nextId(todos), text: trimmed, done: false, createdAt: now.toISOString() };
  if (due !== undefined) todo.due = parseDue(due);
  todos.push(todo);
  return todo;
}

/** The todo with `id`, or undefined. */
export function findTodo(todos, id) {
  return todos.find((t) => t.id === Number(id));
}

/** Marks the todo with `id` done; returns it, or undefined when there is none. */
export function completeTodo(todos, id) {
  const todo = findTodo(todos, id);
  if (todo) todo.done = true;
  return todo;
}

/** Removes the todo with `id`; returns it, or undefined when there is none. */
export function removeTodo(todos, id) {
  const index = todos.findIndex((t) => t.id === Number(id));
  if (index === -1) return undefined;
  return todos.splice(index, 1)[0];
}
