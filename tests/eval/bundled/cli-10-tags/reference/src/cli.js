import { parseArgs } from "./args.js";
import { loadTodos, saveTodos } from "./store.js";
import { addTodo, completeTodo, countTags, hasTag, removeTodo } from "./commands.js";
import { formatList, formatTodo } from "./format.js";
import { createServer } from "./server.js";
import { CliError } from "./errors.js";

const USAGE = `usage: todo <command> [--file PATH]

commands:
  add <text>        add a todo; +word adds the tag "word"
  list [--tag T]    show the todos (with tag T)
  tags              the tags with their number of open todos
  done <id>         mark a todo done
  rm <id>           remove a todo
  serve [--port N]  serve the list over HTTP (default port 3000)`;

/** Runs one command; returns the exit code. */
export async function main(argv, io) {
  const { command, positionals, flags } = parseArgs(argv);
  const file = flags.file ?? io.env.TODO_FILE ?? "todos.json";
  const out = (line) => io.stdout.write(line + "\n");
  const err = (line) => io.stderr.write(line + "\n");
  try {
    switch (command) {
      case "add": {
        const todos = await loadTodos(file);
        const todo = addTodo(todos, positionals.join(" "), io.now());
        await saveTodos(file, todos);
        out(`added ${formatTodo(todo).trim()}`);
        return 0;
      }
      case "list": {
        let todos = await loadTodos(file);
        if (flags.tag !== undefined) todos = todos.filter((t) => hasTag(t, flags.tag));
        if (todos.length > 0) out(formatList(todos));
        return 0;
      }
      case "tags": {
        for (const [tag, count] of countTags(await loadTodos(file))) out(`${tag} ${count}`);
        return 0;
      }
      case "done": {
        const todos = await loadTodos(file);
        const todo = completeTodo(todos, positionals[0]);
        if (!todo) {
          err(`error: no todo ${positionals[0]}`);
          return 0;
        }
        await saveTodos(file, todos);
        out(formatTodo(todo).trim());
        return 0;
      }
      case "rm": {
        const todos = await loadTodos(file);
        const todo = removeTodo(todos, positionals[0]);
        if (!todo) {
          err(`error: no todo ${positionals[0]}`);
          return 1;
        }
        await saveTodos(file, todos);
        out(`removed ${todo.text}`);
        return 0;
      }
      case "serve": {
        const port = Number(flags.port ?? 3000);
        const server = createServer({ file, now: io.now });
        await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
        out(`serving ${file} on http://127.0.0.1:${server.address().port}`);
        return 0;
      }
      case "help":
        out(USAGE);
        return 0;
      default:
        err(`error: unknown command ${command}\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof CliError) {
      err(`error: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
