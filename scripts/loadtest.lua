-- wrk script for scripts/loadtest.sh: POST /v1/completions, counting statuses and generated
-- tokens per thread; done() prints one "key value" line per figure.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"prompt": "Q: What do you get when you cross", "max_tokens": 32, "temperature": 0.8}'

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  tokens = 0
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local n = body and string.match(body, '"completion_tokens":(%d+)')
  if n then tokens = tokens + tonumber(n) end
end

function done(summary, latency, requests)
  local by_status, total_tokens = {}, 0
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do by_status[status] = (by_status[status] or 0) + n end
    total_tokens = total_tokens + t:get("tokens")
  end
  local seconds = summary.duration / 1e6
  print(string.format("requests %d", summary.requests))
  print(string.format("seconds %.3f", seconds))
  print(string.format("requests_per_second %.2f", summary.requests / seconds))
  print(string.format("tokens %d", total_tokens))
  print(string.format("tokens_per_second %.1f", total_tokens / seconds))
  for _, p in ipairs({50, 90, 99}) do
    print(string.format("latency_p%d_ms %.1f", p, latency:percentile(p) / 1000))
  end
  print(string.format("socket_errors %d", summary.errors.connect + summary.errors.read + summary.errors.write +
                                           summary.errors.timeout))
  for status, n in pairs(by_status) do print(string.format("status_%d %d", status, n)) end
end
