import http from "node:http";
import { loadTodos, saveTodos } from "./store.js";
import { addTodo, completeTodo } from "./commands.js";

function sendJson(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * The HTTP API over the todo file:
 *   GET  /todos           the list
 *   POST /todos           {"text": "..."} adds one (201)
 *   POST /todos/:id/done  marks one done
 */
export function createServer({ file, now = () => new Date() }) {
  return http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://localhost");
    if (req.method === "GET" && url.pathname === "/todos") {
      return sendJson(res, 200, await loadTodos(file));
    }
    if (req.method === "POST" && url.pathname === "/todos") {
      const body = JSON.parse(await readBody(req));
      const todos = await loadTodos(file);
      const todo = addTodo(todos, body.text, now());
      await saveTodos(file, todos);
      return sendJson(res, 201, todo);
    }
    const done = url.pathname.match(/^\/todos\/(\d+)\/done$/);
    if (req.method === "POST" && done) {
      const todos = await loadTodos(file);
      const todo = completeTodo(todos, done[1]);
      if (!todo) return sendJson(res, 404, { error: `no todo ${done[1]}` });
      await saveTodos(file, todos);
      return sendJson(res, 200, todo);
    }
    return sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
  });
}
