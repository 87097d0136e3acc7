-- wrk script for bench/claims.py: each thread is one operator with one connection, claiming tasks in a loop.
-- Usage: wrk -t16 -c16 -d20s --latency -s bench/claims.lua URL -- CONFIG
-- CONFIG (written by bench/claims.py), one item a line:
--   api | htmx
--   FIRST LAST              task ids drawn from, inclusive
--   HOT HOT ...             the contended ids, each drawn with probability 1/2 in all
--   one line per operator:  TOKEN (api)  or  COOKIE<TAB>CSRF_TOKEN (htmx)
-- done() prints one line, "CLAIMS_JSON {...}", that bench/claims.py reads.

local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

local function read_config(path)
  local lines = {}
  for line in io.lines(path) do
    table.insert(lines, line)
  end
  return lines
end

local function numbers(line)
  local result = {}
  for word in line:gmatch("%d+") do
    table.insert(result, tonumber(word))
  end
  return result
end

function init(args)
  local lines = read_config(args[1])
  local lane = lines[1]
  local range = numbers(lines[2])
  first, last = range[1], range[2]
  hot = numbers(lines[3])
  local credentials = lines[4 + index % (#lines - 3)]
  if lane == "api" then
    prefix = "/api/v1/tasks/"
    headers = {["Authorization"] = "Bearer " .. credentials, ["Content-Type"] = "application/json"}
    body = '{"version": 1}'
  else
    local cookie, csrf = credentials:match("^([^\t]*)\t(.*)$")
    prefix = "/tasks/"
    headers = {
      ["Cookie"] = cookie,
      ["HX-Request"] = "true",
      ["Content-Type"] = "application/x-www-form-urlencoded",
    }
    body = "csrf_token=" .. csrf .. "&version=1"
  end
  math.randomseed(os.time() * 64 + index)
  statuses = {}
end

function request()
  local id
  if math.random() < 0.5 then
    id = hot[math.random(#hot)]
  else
    id = math.random(first, last)
  end
  return wrk.format("POST", prefix .. id .. "/claim", headers, body)
end

function response(status, _headers, _body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, _requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  local errors = summary.errors
  io.write(string.format(
    'CLAIMS_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "statuses": {%s}, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), table.concat(parts, ", "),
    errors.connect, errors.read, errors.write, errors.timeout
  ))
end
