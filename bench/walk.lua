-- wrk script: each connection POSTs to the next order of a pre-created list (ids.txt),
-- so every request acts on an order no other request touches (creation: the list's lines
-- are only counted). Set by bench/run.py:
-- IDS (file of order ids), TARGET (the path, with %s for the order id), BODY (JSON),
-- TOKEN (bearer token), THREADS (wrk's -t).
local ids = {}
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("IDS")) do
    table.insert(ids, line)
  end
  counter = 0
  stride = tonumber(os.getenv("THREADS"))
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
  wrk.headers["Content-Type"] = "application/json"
  wrk.method = "POST"
  wrk.body = os.getenv("BODY")
  target = os.getenv("TARGET")
end

function request()
  -- thread t takes ids t, t + stride, t + 2 * stride ... (wraps around if the list runs out)
  local i = (tid + counter * stride) % #ids + 1
  counter = counter + 1
  return wrk.format(nil, string.format(target, ids[i]))
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, non2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
