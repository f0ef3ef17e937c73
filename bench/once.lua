-- wrk: send each request of BENCH_REQUESTS (a file: METHOD PATH TOKEN BODY,
-- tab-separated, one a line) once; after the list runs out, wrk's remaining
-- requests go to /healthz and are not counted (the driver reads the
-- per-status counts).  Each thread takes every n-th line.
local lines = {}
local pos = 0
local step, offset = 1, 0

function setup(thread)
  local id = (setup_count or 0)
  setup_count = id + 1
  thread:set("offset", id)
end

function init(args)
  step = tonumber(os.getenv("BENCH_THREADS") or "2")
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do lines[#lines + 1] = line end
  pos = offset
end

request = function()
  pos = pos + step
  local line = lines[pos]
  if not line then
    return wrk.format("GET", "/healthz")
  end
  local method, path, token, body = line:match("^(%S+)\t(%S+)\t(%S+)\t(.*)$")
  return wrk.format(method, path, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

done = function(summary, latency, requests)
  io.write(string.format("once: %d listed\n", #lines))
end
