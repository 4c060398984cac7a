import http from "node:http";
import { loadTodos, saveTodos } from "./store.js";
import { addTodo, completeTodo } from "./commands.js";

function sendJson(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** The largest request body the server reads. */
const MAX_BODY_BYTES = 10 * 1024;
/** The longest todo text the API accepts. */
const MAX_TEXT_LENGTH = 500;

/** A request the server answers with `status` and `{"error": message}`. */
class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The `text` of a POST /todos body, or an HttpError saying what is wrong. */
async function readNewTodo(req) {
  let body;
  try {
    body = JSON.parse(await readBody(req));
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, `body is not valid JSON: ${err.message}`);
  }
  const text = body?.text;
  if (typeof text !== "string" || text.trim() === "") {
    throw new HttpError(400, 'body needs a non-empty "text" string');
  }
  if (text.length > MAX_TEXT_LENGTH) {
    throw new HttpError(400, `"text" is longer than ${MAX_TEXT_LENGTH} characters`);
  }
  return text;
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
      let text;
      try {
        text = await readNewTodo(req);
      } catch (err) {
        if (!(err instanceof HttpError)) throw err;
        res.setHeader("connection", "close");
        return sendJson(res, err.status, { error: err.message });
      }
      const todos = await loadTodos(file);
      const todo = addTodo(todos, text, now());
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
    res.end();
  });
}
