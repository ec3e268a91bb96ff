-- wrk script: GET a random path from $BENCH_PATHS (one per line), with optional
-- Accept ($BENCH_ACCEPT) and Authorization ($BENCH_AUTH) headers; prints JSON when done.
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do
  if #line > 0 then paths[#paths + 1] = line end
end
local headers = { ["User-Agent"] = "Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile" }
if os.getenv("BENCH_ACCEPT") then headers["Accept"] = os.getenv("BENCH_ACCEPT") end
if os.getenv("BENCH_AUTH") then headers["Authorization"] = os.getenv("BENCH_AUTH") end

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end

-- Every request from another consumer, as a proxy in front of the service reports them
-- (the server trusts one proxy hop: TRUSTED_PROXIES=1), so each scan is counted and
-- limited per client as a province's scans are; $BENCH_ONE_CLIENT=1 sends none.
local many = os.getenv("BENCH_ONE_CLIENT") ~= "1"

function request()
  if many then
    headers["X-Forwarded-For"] = string.format("10.%d.%d.%d",
      math.random(0, 255), math.random(0, 255), math.random(1, 254))
  end
  return wrk.format("GET", paths[math.random(#paths)], headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p99_ms": %.3f, ' ..
    '"max_ms": %.3f, "non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, e.status,
    e.connect + e.read + e.write + e.timeout))
end
