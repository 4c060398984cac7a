import { CliError } from "./errors.js";

/** The next free id: one more than the largest. */
function nextId(todos) {
  return todos.reduce((max, t) => Math.max(max, t.id), 0) + 1;
}

/** The `+tag` words of `text`: lower-cased, without `+`, without repeats. */
export function parseTags(text) {
  const tags = [];
  for (const word of text.split(/\s+/)) {
    const tag = word.startsWith("+") ? word.slice(1).toLowerCase() : "";
    if (tag !== "" && !tags.includes(tag)) tags.push(tag);
  }
  return tags;
}

/** Whether `todo` carries `tag` (case-insensitive). */
export function hasTag(todo, tag) {
  return (todo.tags ?? []).includes(String(tag).toLowerCase());
}

/** Open todos per tag, sorted by tag name. */
export function countTags(todos) {
  const counts = new Map();
  for (const todo of todos) {
    if (todo.done) continue;
    for (const tag of todo.tags ?? []) counts.set(tag, (counts.get(tag) ?? 0) + 1);
  }
  return [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A new open todo with `text`, appended to `todos`; `+word`s become its tags. */
export function addTodo(todos, text, now) {
  const trimmed = text.trim();
  if (trimmed === "") throw new CliError("a todo needs some text: todo add <text>");
  const todo = { id: nextId(todos), text: trimmed, done: false, createdAt: now.toISOString() };
  const tags = parseTags(trimmed);
  if (tags.length > 0) todo.tags = tags;
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
