-- wrk's script for bench/pages.py: GET one page again and again, as a signed-in browser behind the TLS proxy.
-- init(args): args[1] = the path, args[2] = the Cookie header ("" for none).
failed = 0
other_status = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "GET"
  wrk.path = args[1]
  if args[2] ~= nil and args[2] ~= "" then
    wrk.headers["Cookie"] = args[2]
  end
  wrk.headers["X-Forwarded-Proto"] = "https"
  wrk.headers["Accept-Language"] = "pl"
end

function response(status, headers, body)
  if status ~= 200 then
    failed = failed + 1
    other_status = status
  end
end

function done(summary, latency, requests)
  local total_failed, status = 0, 0
  for _, thread in ipairs(threads) do
    total_failed = total_failed + thread:get("failed")
    if thread:get("other_status") ~= 0 then
      status = thread:get("other_status")
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "failed": %d, ' ..
    '"socket_errors": %d, "other_status": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), total_failed, errors.connect + errors.read + errors.write + errors.timeout, status))
end
