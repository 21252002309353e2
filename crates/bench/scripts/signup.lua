-- wrk script: every request signs up a fresh user (unique name and address per thread and
-- request), and done() prints machine-readable figures for run.sh.
local counter = 0
local tag = tostring(os.time()) .. tostring(math.random(1000000))
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

request = function()
  counter = counter + 1
  local name = string.format("b%s_%d_%d", tag, id or 0, counter)
  local body = string.format(
    '{"username":"%s","password":"correct horse battery","email":"%s@example.com","first_name":"Bench","last_name":"User"}',
    name, name)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end

-- BENCH_DELAY_MS paces each connection (the overload phase offers a fixed multiple of the
-- capacity instead of resending the instant a 503 comes back).
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if pause > 0 then
  delay = function()
    return pause
  end
end

-- report.lua sits beside this script.
done = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
