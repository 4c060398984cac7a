import { readFile, writeFile } from "node:fs/promises";
import { CliError } from "./errors.js";

/** The todos in `file`; a file that does not exist yet is an empty list. */
export async function loadTodos(file) {
  let text;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if (err.code === "ENOENT") return [];
    throw err;
  }
  let todos;
  try {
    todos = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file} is not valid JSON: ${err.message}; fix or remove it`, { cause: err });
  }
  if (!Array.isArray(todos)) {
    throw new CliError(`${file} does not hold a list of todos; fix or remove it`);
  }
  return todos;
}

/** Writes `todos` to `file`. */
export async function saveTodos(file, todos) {
  await writeFile(file, JSON.stringify(todos, null, 2) + "\n");
}
