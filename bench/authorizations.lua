-- wrk's script for bench/authorizations.py: POST authorizations from a file of body templates.
-- init(args): args[1] = the API key, args[2] = the templates file (one JSON body a line, "@ID@" where
-- the unique authorization id goes), args[3] = a nonce that keeps this run's ids apart from earlier runs.
local threads = {}
local next_thread = 0

function setup(thread)
  thread:set("thread_number", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

local templates = {}
local counter = 0
local nonce = ""
approved = 0
failed = 0

function init(args)
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["Content-Type"] = "application/json"
  -- As the TLS-terminating proxy in front of gunicorn says (production settings redirect plain HTTP).
  wrk.headers["X-Forwarded-Proto"] = "https"
  for line in io.lines(args[2]) do
    table.insert(templates, line)
  end
  nonce = args[3] .. "-" .. thread_number
  -- Each thread starts on its own stretch of cards: clients do not queue on one card's lock,
  -- as real traffic spread over many cards does not.
  counter = thread_number * math.floor(#templates / 2)
end

function request()
  counter = counter + 1
  local body = templates[(counter % #templates) + 1]:gsub("@ID@", nonce .. "-" .. counter)
  return wrk.format(nil, "/api/processor/v1/authorizations", nil, body)
end

function response(status, headers, body)
  if status ~= 200 then
    failed = failed + 1
  elseif body:find('"approved":%s*true') then
    approved = approved + 1
  end
end

function done(summary, latency, requests)
  local total_approved, total_failed = 0, 0
  for _, thread in ipairs(threads) do
    total_approved = total_approved + thread:get("approved")
    total_failed = total_failed + thread:get("failed")
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"approved": %d, "failed": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), total_approved, total_failed,
    errors.connect + errors.read + errors.write + errors.timeout))
end
