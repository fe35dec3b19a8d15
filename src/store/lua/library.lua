#!lua name=vinpath8
-- vinpath's Redis functions. Each applies one thing to one order (or one
-- truck) atomically, so instances racing on the same order end consistent.
-- Every function binds its arguments to named locals at the top; their
-- Rust side is one type per function in src/store/functions/, which a test
-- checks against the names listed here. Answers have one fixed shape each.
--
-- One library, in files by subject, joined in this order by
-- src/store/functions/mod.rs: library.lua (this header and the helpers
-- every function shares), scan.lua, fix.lua, webhooks.lua, correct.lua,
-- small.lua (the rest, and the registrations).
-- The rules (which milestone may follow which, what a fix means) are
-- decided in Rust and arrive as verdict letters and ready-made records.
--
-- The library and its functions carry a version (vinpath8_): bump it with
-- any change to a function's arguments or answers, so instances of two
-- versions share one Redis during a rollout, each with its own functions.

-- Milestone positions in the order of Milestone::ALL (checked by a Rust
-- test). A literal: library load time offers no ipairs.
local INDEX = {ordered = 1, produced = 2, released = 3, loaded = 4, in_transit = 5,
  arrived = 6, unloaded = 7, gated_in = 8, in_storage = 9, pdi = 10, in_repair = 11,
  ready_for_delivery = 12, out_for_delivery = 13, delivered = 14, on_hold = 15, cancelled = 16}

local function num(v) return tonumber(v) or 0 end
local function str(v) if v then return v end return '' end
local function letter(letters, m)
  local i = INDEX[m]
  if not i then return '' end
  return string.sub(letters, i, i)
end

-- Duplicate detection, on Redis's clock. Ids live in hashes of event id to
-- "digest|target", one per bucket of `span` seconds; the caller names the
-- buckets before, at and after its own clock's, and the function uses the
-- one Redis's clock is in and the one before it.
-- Returns the hash to remember in, and the prior value of `id` if any.
local function dedupe(prev_key, this_key, next_key, bucket, span, id)
  local now = tonumber(redis.call('TIME')[1])
  local b = math.floor(now / tonumber(span))
  local write, check = this_key, {this_key, prev_key}
  if b == tonumber(bucket) + 1 then
    write, check = next_key, {next_key, this_key}
  elseif b == tonumber(bucket) - 1 then
    write, check = prev_key, {prev_key}
  end
  for _, k in ipairs(check) do
    local v = redis.call('HGET', k, id)
    if v then return write, v end
  end
  return write, nil
end

local function remember(key, id, value, span)
  redis.call('HSET', key, id, value)
  redis.call('EXPIRE', key, 2 * tonumber(span) + 86400)
end

-- The same event again, or its id reused for another: nil when new.
local function judge_seen(prior, digest)
  if not prior then return nil end
  local d, target = string.match(prior, '^([^|]*)|(.*)$')
  if d == digest then return 'duplicate', '' end
  return 'rejected', str(target)
end

-- An order's or a truck's revision: bumped by every change of what a fix
-- is judged by (its fields, its track, its cars, its open alerts), so an
-- instance that kept a copy of that context knows when it is out of date.
local function bump(key)
  return redis.call('HINCRBY', key, 'rev', 1)
end


-- Keeps a clean fix in a vehicle's track (its last 2000 fixes by time).
local function keep(key, at, member)
  redis.call('ZADD', key, at, member)
  if redis.call('ZCARD', key) > 2000 then redis.call('ZREMRANGEBYRANK', key, 0, -2001) end
end

-- Every entry is kept: what leaves Redis to bound an order's memory moves
-- to the object store first (the history spill job), never just trimmed.
local function record(log, status, code, gap, change, rec)
  local fields = {'s', status, 'e', rec}
  if code ~= '' then fields[#fields + 1] = 'c'; fields[#fields + 1] = code end
  if gap then fields[#fields + 1] = 'g'; fields[#fields + 1] = '1' end
  if change ~= '' then fields[#fields + 1] = 'x'; fields[#fields + 1] = change end
  return redis.call('XADD', log, '*', unpack(fields))
end

-- How the live messages are sent: classic pub/sub on one Redis; on a Redis
-- Cluster vinpath loads the library with SPUBLISH here (sharded pub/sub:
-- each partition's channel lives in its slot, never broadcast to every
-- node). Store::load_functions makes the swap; keep this line as it is.
local PUBLISH = 'PUBLISH'

-- The partition's outbox: the changes webhooks report (milestones, ETAs,
-- clips, alerts), written in the same atomic call as the change itself,
-- so none goes unreported. Beside the live channel, in its slot
-- (src/store/webhooks.rs reads it; keys::outbox names it).
local function outbox(channel)
  return (string.gsub(channel, ':live$', ':outbox'))
end

local OUTBOX_CHANGES = {m = true, e = true, c = true, v = true, i = true, h = true, l = true}

-- The live messages, v3: one definition each (src/store/live_wire.rs reads
-- them; a test round-trips every one). `event` is a JSON document already.
local function publish_order(channel, o, cursor, change, gap, event)
  local message = '{"v":3,"kind":"order","order_id":' .. cjson.encode(o.order_id) ..
    ',"carrier_id":' .. cjson.encode(o.carrier_id) .. ',"truck_id":' .. cjson.encode(o.truck) ..
    ',"milestone":' .. cjson.encode(o.milestone) .. ',"cursor":' .. cjson.encode(cursor) ..
    ',"change":"' .. change .. '","gap":' .. tostring(gap) .. ',"event":' .. event .. '}'
  redis.call(PUBLISH, channel, message)
  if OUTBOX_CHANGES[change] then
    redis.call('XADD', outbox(channel), '*', 'm', message)
  end
end

local function publish_truck(channel, carrier, truck, position)
  redis.call(PUBLISH, channel, '{"v":3,"kind":"truck","carrier_id":' .. cjson.encode(carrier) ..
    ',"truck_id":' .. cjson.encode(truck) .. ',"position":' .. position .. '}')
end

-- An order's tracking link changed: its open sockets check theirs.
local function publish_link(channel, order_id)
  redis.call(PUBLISH, channel, '{"v":3,"kind":"link","order_id":' .. cjson.encode(order_id) .. '}')
end

local function publish_alert(channel, state, alert)
  local message = '{"v":3,"kind":"alert","state":"' .. state .. '","alert":' .. alert .. '}'
  redis.call(PUBLISH, channel, message)
  redis.call('XADD', outbox(channel), '*', 'm', message)
end

-- One history entry and its live message.
local function tell(o, log, channel, change, gap, rec)
  local id = record(log, 'accepted', '', gap, change, rec)
  publish_order(channel, o, id, change, gap, rec)
  return id
end

-- Raises or clears alerts: a JSON array of {op, id, alert}. Only the call
-- that changes something tells the fleet, so racing instances tell once.
local function alert_ops(alerts_key, channel, ops_json)
  if ops_json == '' then return end
  for _, op in ipairs(cjson.decode(ops_json)) do
    if op.op == 'raise' then
      if redis.call('HSETNX', alerts_key, op.id, op.alert) == 1 then
        publish_alert(channel, 'raised', op.alert)
      end
    else
      local old = redis.call('HGET', alerts_key, op.id)
      if old then
        redis.call('HDEL', alerts_key, op.id)
        publish_alert(channel, 'cleared', old)
      end
    end
  end
end
