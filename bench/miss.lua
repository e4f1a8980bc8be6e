-- wrk script: POST the certificate of $BENCH_BODY with a certificate number never sent before
-- (per wrk thread and request), so every request misses the verification cache: the rules run
-- and the result is written to the cache.
local counter = 0
local head, tail
local threads = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  local f = assert(io.open(os.getenv("BENCH_BODY"), "r"))
  local body = f:read("*a")
  f:close()
  local s, e = body:find('"certificate_number": "[^"]*"')
  head = body:sub(1, s - 1)
  tail = body:sub(e + 1)
  -- a different run gets different numbers too (a cache filled by an earlier run stays cold)
  math.randomseed(os.time() + (tid or 0))
  run = math.random(1, 1000000000)
end

function request()
  counter = counter + 1
  local body = head .. string.format('"certificate_number": "B-%d-%d-%d"', run, tid or 0, counter)
               .. tail
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
