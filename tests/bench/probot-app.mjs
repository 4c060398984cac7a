// The peer for tests/bench/ingress-vs-probot.sh: a minimal Probot app that
// verifies each webhook's signature and acknowledges it, nothing more, on
// Node's own HTTP server. Listens on 127.0.0.1 at a port the system picks
// and writes it to the file named by BENCH_ADDR_FILE.
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { Probot, createNodeMiddleware } from "probot";

const probot = new Probot({
  appId: 4242,
  privateKey: readFileSync(process.env.BENCH_KEY, "utf8"),
  secret: process.env.BENCH_SECRET,
  logLevel: "warn",
});
const app = (app) => {
  // Handlers that do nothing: the same work as an ignored event.
  app.on("issues.labeled", async () => {});
};
const middleware = await createNodeMiddleware(app, { probot, webhooksPath: "/webhooks" });
const server = createServer((req, res) => {
  middleware(req, res, () => {
    res.writeHead(404);
    res.end();
  });
});
server.listen(0, "127.0.0.1", () => {
  writeFileSync(process.env.BENCH_ADDR_FILE, `127.0.0.1:${server.address().port}`);
});
