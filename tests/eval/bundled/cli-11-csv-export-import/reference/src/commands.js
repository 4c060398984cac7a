import { CliError } from "./errors.js";

/** The next free id: one more than the largest. */
function nextId(todos) {
  return todos.reduce((max, t) => Math.max(max, t.id), 0) + 1;
}

/** A new open todo with `text`, appended to `todos`. */
export function addTodo(todos, text, now) {
  const trimmed = text.trim();
  if (trimmed === "") throw new CliError("a todo needs some text: todo add <text>");
  const todo = { id: nextId(todos), text: trimmed, done: false, createdAt: now.toISOString() };
  todos.push(todo);
  return todo;
}

/**
 * Appends todos read from CSV rows (objects with `text` and optionally
 * `done` and `createdAt`), with new ids; returns how many.
 */
export function importTodos(todos, rows, now) {
  const added = rows.map((row, i) => {
    const text = (row.text ?? "").trim();
    if (text === "") throw new CliError(`row ${i + 2} of the CSV has no text`);
    return {
      text,
      done: row.done === "true",
      createdAt: row.createdAt ? row.createdAt : now.toISOString(),
    };
  });
  for (const todo of added) todos.push({ id: nextId(todos), ...todo });
  return added.length;
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
