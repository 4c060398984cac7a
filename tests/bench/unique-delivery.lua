-- wrk script for tests/bench/ingress-vs-probot.sh: every request POSTs the
-- same signed webhook body with an X-GitHub-Delivery no other request of
-- the run has (the thread number and a counter), as GitHub's deliveries do.
-- Reads BENCH_BODY (a file), BENCH_EVENT, BENCH_SIGNATURE and BENCH_RUN.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

local counter = 0
local prefix

function init(args)
  local file = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
  wrk.body = file:read("*a")
  file:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["User-Agent"] = "GitHub-Hookshot/bench"
  wrk.headers["X-GitHub-Event"] = os.getenv("BENCH_EVENT")
  wrk.headers["X-Hub-Signature-256"] = os.getenv("BENCH_SIGNATURE")
  prefix = os.getenv("BENCH_RUN") .. "-" .. tostring(thread_number) .. "-"
end

function request()
  counter = counter + 1
  wrk.headers["X-GitHub-Delivery"] = prefix .. counter
  return wrk.format()
end
