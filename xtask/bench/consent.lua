-- wrk script for `cargo xtask bench`: POST a consent choice and count the
-- responses whose receipt was stored. Counters live in each thread's Lua
-- state; done() (main state) collects them through setup()'s thread handles.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"granted": "all"}'

acked, refused, other = 0, 0, 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status == 200 and string.find(body, '"receipt":true', 1, true) then
    acked = acked + 1
  elseif status == 200 then
    refused = refused + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local a, r, o = 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("acked")
    r = r + t:get("refused")
    o = o + t:get("other")
  end
  io.write(string.format("CONSENTRY acked=%d refused=%d non200=%d\n", a, r, o))
end
