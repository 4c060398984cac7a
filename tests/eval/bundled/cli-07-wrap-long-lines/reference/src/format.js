/** Splits `text` into lines of at most `room` characters, breaking at spaces. */
function wrap(text, room) {
  const lines = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line === "") line = word;
    else if (line.length + 1 + word.length <= room) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  lines.push(line);
  return lines;
}

/**
 * One entry of `todo list`: `  3 [x] buy milk`, wrapped at `width` columns
 * with continuation lines indented under the text.
 */
export function formatTodo(todo, width = 80) {
  const prefix = `${String(todo.id).padStart(3)} [${todo.done ? "x" : " "}] `;
  const indent = " ".repeat(prefix.length);
  const lines = wrap(todo.text, Math.max(1, width - prefix.length));
  return lines.map((line, i) => (i === 0 ? prefix : indent) + line).join("\n");
}

/** The lines of `todo list`. */
export function formatList(todos) {
  return todos.map((todo) => formatTodo(todo)).join("\n");
}
