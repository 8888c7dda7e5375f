-- wrk script for scripts/load.sh: sends the Authorization header given in the environment
-- (WRK_AUTHORIZATION, e.g. "Bearer <token>"; none when unset or empty), counts the status of every
-- response per thread, and in done() prints one machine-readable line:
--
--   RESULT requests=N duration_us=N p50_us=N p99_us=N connect=N read=N write=N status=N
--          timeout=N statuses=200:N,401:N
--
-- (on one line). connect/read/write/timeout are wrk's socket errors, status its count of
-- non-2xx/3xx answers. Each thread counts in its own Lua state; setup() keeps the thread handles
-- so that done() can collect the counts (wrk's setup/threads pattern).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  local authorization = os.getenv("WRK_AUTHORIZATION")
  if authorization ~= nil and authorization ~= "" then
    wrk.headers["Authorization"] = authorization
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    if counts ~= nil then
      for status, count in pairs(counts) do
        total[status] = (total[status] or 0) + count
      end
    end
  end
  local codes = {}
  for status in pairs(total) do
    table.insert(codes, status)
  end
  table.sort(codes)
  local shown = {}
  for _, status in ipairs(codes) do
    table.insert(shown, status .. ":" .. total[status])
  end
  local errors = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d connect=%d read=%d write=%d status=%d timeout=%d statuses=%s\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    table.concat(shown, ",")))
end
