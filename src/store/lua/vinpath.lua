#!lua name=vinpath3
-- vinpath's Redis functions. Each applies one thing to one order (or one
-- truck) atomically, so instances racing on the same order end consistent.
-- Every function binds its arguments to named locals at the top; their
-- Rust side is one type per function in src/store/functions/, which a test
-- checks against the names listed here. Answers have one fixed shape each.
-- The rules (which milestone may follow which, what a fix means) are
-- decided in Rust and arrive as verdict letters and ready-made records.
--
-- The library and its functions carry a version (vinpath3_): bump it with
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

-- Whether a caller's copy of the context is out of date ('' = unchecked).
local function outdated(key, expect_rev)
  return expect_rev ~= '' and num(redis.call('HGET', key, 'rev')) ~= num(expect_rev)
end

-- Keeps a clean fix in a vehicle's track (its last 2000 fixes by time).
local function keep(key, at, member)
  redis.call('ZADD', key, at, member)
  if redis.call('ZCARD', key) > 2000 then redis.call('ZREMRANGEBYRANK', key, 0, -2001) end
end

local function record(log, limit, status, code, gap, change, rec)
  local fields = {'s', status, 'e', rec}
  if code ~= '' then fields[#fields + 1] = 'c'; fields[#fields + 1] = code end
  if gap then fields[#fields + 1] = 'g'; fields[#fields + 1] = '1' end
  if change ~= '' then fields[#fields + 1] = 'x'; fields[#fields + 1] = change end
  return redis.call('XADD', log, 'MAXLEN', limit, '*', unpack(fields))
end

-- The live messages, v3: one definition each (src/store/live_wire.rs reads
-- them; a test round-trips every one). `event` is a JSON document already.
local function publish_order(channel, o, cursor, change, gap, event)
  redis.call('PUBLISH', channel, '{"v":3,"kind":"order","order_id":' .. cjson.encode(o.order_id) ..
    ',"carrier_id":' .. cjson.encode(o.carrier_id) .. ',"truck_id":' .. cjson.encode(o.truck) ..
    ',"milestone":' .. cjson.encode(o.milestone) .. ',"cursor":' .. cjson.encode(cursor) ..
    ',"change":"' .. change .. '","gap":' .. tostring(gap) .. ',"event":' .. event .. '}')
end

local function publish_truck(channel, carrier, truck, position)
  redis.call('PUBLISH', channel, '{"v":3,"kind":"truck","carrier_id":' .. cjson.encode(carrier) ..
    ',"truck_id":' .. cjson.encode(truck) .. ',"position":' .. position .. '}')
end

local function publish_alert(channel, state, alert)
  redis.call('PUBLISH', channel, '{"v":3,"kind":"alert","state":"' .. state .. '","alert":' .. alert .. '}')
end

-- One history entry and its live message.
local function tell(o, log, limit, channel, change, gap, rec)
  local id = record(log, limit, 'accepted', '', gap, change, rec)
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

local ORDER_FIELDS = {'order_id', 'carrier_id', 'm', 'stale_at', 'held', 'truck',
  'truck_since', 'pos_at', 'vin', 'site', 'arriving', 'm_at'}

local function read_order(key)
  local f = redis.call('HMGET', key, unpack(ORDER_FIELDS))
  if not f[1] then return nil end
  return {order_id = f[1], carrier_id = str(f[2]), milestone = str(f[3]), stale_at = num(f[4]),
    held = str(f[5]), truck = str(f[6]), truck_since = num(f[7]), pos_at = num(f[8]),
    vin = str(f[9]), site = f[10], arriving = f[11], m_at = num(f[12])}
end

-- The answer of scan and cancel, always these seven: status, code, detail,
-- milestone, truck, cursor, and the follow-up it left ('' none).
local function scan_answer(status, code, detail, o, cursor, followup)
  return {status, code, detail, str(o.milestone), str(o.truck), cursor, followup or ''}
end

local NONE = {milestone = '', truck = ''}

-- Work that must follow a change on other keys (bindings, alerts): kept on
-- the order until done, so a retry or the repair job completes it.
local function pend(pending_key, index_key, o, from, old_truck, old_since, now_ms)
  local item = cjson.encode({order_id = o.order_id, carrier_id = o.carrier_id,
    from = from, to = o.milestone, old_truck = old_truck, old_since = old_since,
    new_truck = o.truck, new_since = o.truck_since})
  redis.call('RPUSH', pending_key, item)
  redis.call('ZADD', index_key, 'NX', now_ms, o.order_id)
  return item
end

-- A milestone reached: state, timeline, truck, and the follow-ups.
local function move(keys_, o, to, at, gap, truck, ends_alerts, received)
  local order_key, timeline, pending, index = keys_[1], keys_[2], keys_[3], keys_[4]
  local from, old_truck, old_since = o.milestone, o.truck, o.truck_since
  local on_truck = to == 'loaded' or to == 'in_transit' or to == 'arrived'
  if to ~= from then
    redis.call('HSET', order_key, 'm', to, 'm_at', at, 'stale_at', at)
    if to == 'on_hold' then
      redis.call('HSET', order_key, 'held', from)
    elseif from == 'on_hold' then
      redis.call('HSET', order_key, 'held', '')
    end
    if to == 'delivered' then redis.call('HSET', order_key, 'delivered_at', at) end
    redis.call('RPUSH', timeline, cjson.encode({milestone = to, at = at, gap = gap}))
    o.milestone, o.previous = to, from
  elseif at > o.stale_at then
    redis.call('HSET', order_key, 'stale_at', at)
  end
  local new_truck = o.truck
  if to == 'loaded' and truck ~= '' then new_truck = truck end
  if not on_truck then new_truck = '' end
  if new_truck ~= o.truck then
    redis.call('HSET', order_key, 'truck', new_truck, 'truck_since', at)
    o.truck, o.truck_since = new_truck, at
  end
  redis.call('HSET', order_key, 'updated_at', received)
  bump(order_key)
  if new_truck ~= old_truck or (to ~= from and ends_alerts) then
    return pend(pending, index, o, from, old_truck, old_since, received)
  end
  return ''
end

-- A scan of one order (a carrier's, or a geofence crossing a fix implied).
-- Judged in the contract's order: unusable, duplicate, stale, illegal.
local function scan(keys, argv)
  local order_key, log, timeline, pending, index = keys[1], keys[2], keys[3], keys[4], keys[5]
  local ids_prev, ids_this, ids_next = keys[6], keys[7], keys[8]
  local carrier, event_id, digest, target = argv[1], argv[2], argv[3], argv[4]
  local bucket, span = argv[5], argv[6]
  local at, received, rec = num(argv[7]), num(argv[8]), argv[9]
  local limit, channel = argv[10], argv[11]
  local to, by_current, from_hold, ends_alerts = argv[12], argv[13], argv[14], argv[15]
  local truck, position, vin, site = argv[16], argv[17], argv[18], argv[19]
  local only_at_fix, only_from, leg, position_rec = argv[20], argv[21], argv[22], argv[23]

  local o = read_order(order_key)
  if not o then return scan_answer('rejected', 'unknown_order', '', NONE, '') end
  if carrier ~= '' and o.carrier_id ~= carrier then
    return scan_answer('rejected', 'not_your_order', '', o, '')
  end
  if vin ~= '' and o.vin ~= '' and vin ~= o.vin then
    return scan_answer('rejected', 'invalid_field', o.vin, o, '')
  end
  -- A crossing is applied only while the fix that implied it is the car's
  -- position and the car is at the milestone the crossing starts from: a
  -- conclusion drawn from an older fix, or from a copy of the car's state
  -- that another instance changed since, is no conclusion.
  if only_at_fix ~= '' and (o.pos_at ~= num(only_at_fix) or o.milestone ~= only_from) then
    return scan_answer('skip', '', '', o, '')
  end
  local ids, prior = dedupe(ids_prev, ids_this, ids_next, bucket, span, event_id)
  local seen, other = judge_seen(prior, digest)
  if seen == 'duplicate' then
    local todo = redis.call('LLEN', pending)
    return scan_answer('duplicate', todo > 0 and 'pending' or '', '', o, '')
  elseif seen then
    return scan_answer('rejected', 'event_id_reused', other, o, '')
  end

  if at < o.stale_at then
    remember(ids, event_id, digest .. '|' .. target, span)
    local id = record(log, limit, 'stale', '', false, '', rec)
    if to ~= o.milestone then
      redis.call('RPUSH', timeline, cjson.encode({milestone = to, at = at, gap = false}))
    end
    return scan_answer('stale', '', tostring(o.m_at), o, id)
  end
  local verdict
  if o.milestone == 'on_hold' then
    verdict = letter(from_hold, o.held)
    if verdict == '' then verdict = 'X' end
  else
    verdict = letter(by_current, o.milestone)
  end
  if verdict ~= 'S' and verdict ~= 'D' and verdict ~= 'G' then
    return scan_answer('rejected', 'illegal_transition', o.held, o, '')
  end
  remember(ids, event_id, digest .. '|' .. target, span)
  if vin ~= '' and o.vin == '' then redis.call('HSET', order_key, 'vin', vin) end
  -- A loading starts a leg: where the car was loaded, when the scan says.
  if leg ~= '' then redis.call('HSET', order_key, 'leg', leg) end
  local gap = verdict == 'G'
  local followup = move({order_key, timeline, pending, index}, o, to, at, gap, truck,
    letter(ends_alerts, o.milestone) == '1', received)
  -- The site the scan places the car at ('-' takes it out of any site).
  local inside = str(o.site)
  if site == '-' then
    if inside ~= '' then redis.call('HDEL', order_key, 'site') end
    inside = ''
  elseif site ~= '' then
    redis.call('HSET', order_key, 'site', site); inside = site
  end
  local moved = o.previous ~= nil
  local id = ''
  if moved then
    id = tell(o, log, limit, channel, 'm', gap, rec)
  end
  local final = o.milestone == 'delivered' or o.milestone == 'cancelled'
  if position ~= '' and at >= o.pos_at and not final then
    redis.call('HSET', order_key, 'pos', position, 'pos_at', at)
    -- Inside a site the customer sees the site, not the bay: 'q' is a
    -- position for dispatchers only. Its own entry, so every live frame
    -- has a cursor of its own.
    id = tell(o, log, limit, channel, inside ~= '' and 'q' or 'p', false, position_rec)
  end
  if id == '' then id = record(log, limit, 'accepted', '', false, '', rec) end
  return scan_answer('accepted', gap and 'gap' or '', '', o, id, followup)
end

-- Cancels an order (the sales system's act, not a scan). A cancel of a
-- cancelled order answers as the first did.
local function cancel(keys, argv)
  local order_key, log, timeline, pending, index = keys[1], keys[2], keys[3], keys[4], keys[5]
  local at, rec, limit, channel = num(argv[1]), argv[2], argv[3], argv[4]
  local o = read_order(order_key)
  if not o then return scan_answer('rejected', 'unknown_order', '', NONE, '') end
  if o.milestone == 'cancelled' then
    local todo = redis.call('LLEN', pending)
    return scan_answer('duplicate', todo > 0 and 'pending' or '', '', o, '')
  end
  if o.milestone == 'delivered' then
    return scan_answer('rejected', 'illegal_transition', '', o, '')
  end
  local followup = move({order_key, timeline, pending, index}, o, 'cancelled', at, false, '', true, at)
  if str(o.site) ~= '' then redis.call('HDEL', order_key, 'site') end
  local id = tell(o, log, limit, channel, 'm', false, rec)
  return scan_answer('accepted', '', '', o, id, followup)
end

-- A GPS fix applied to one car, once judged new and clean: a late fix
-- joins the track; only the newest moves the car, and only with the newest
-- are its conclusions written. Answers {status, code, detail, truck, since}.
local function apply_fix(o, k, a)
  local function answer(status, code, rev)
    return {status, code, '', o.truck, tostring(o.truck_since), tostring(rev or '')}
  end
  if a.noise ~= '' then
    record(k.log, a.limit, 'filtered', a.noise, false, '', a.rec)
    return answer('filtered', a.noise)
  end
  if o.milestone == 'delivered' or o.milestone == 'cancelled' then
    record(k.log, a.limit, 'stale', '', false, '', a.rec)
    return answer('stale', '')
  end
  -- The road travelled, as customers see it: never the bays of a site.
  if str(o.site) == '' then keep(k.track, a.at, a.member) end
  if a.at < o.pos_at or a.truck_stale == '1' then
    record(k.log, a.limit, 'stale', '', false, '', a.rec)
    return answer('stale', '', bump(k.order))
  end
  local fields = {'pos', a.position, 'pos_at', a.at, 'updated_at', a.received}
  if a.geo ~= '' then fields[#fields + 1] = 'geo'; fields[#fields + 1] = a.geo end
  local inside = str(o.site)
  if a.eta_ms ~= '' then
    -- The conclusions of this fix: its ETA, the site it is shown at
    -- ('' unchanged, '-' out of any), alerts.
    fields[#fields + 1] = 'eta'; fields[#fields + 1] = a.eta_ms
    if a.leg ~= '' then fields[#fields + 1] = 'leg'; fields[#fields + 1] = a.leg end
    if a.site == '-' then
      if inside ~= '' then redis.call('HDEL', k.order, 'site') end
      inside = ''
    elseif a.site ~= '' then
      fields[#fields + 1] = 'site'; fields[#fields + 1] = a.site
      inside = a.site
    end
  end
  redis.call('HSET', k.order, unpack(fields))
  tell(o, k.log, a.limit, a.channel, inside ~= '' and 'q' or 'p', false, a.rec)
  if a.eta_rec ~= '' then
    redis.call('HSET', k.order, 'eta_told', a.eta_ms)
    tell(o, k.log, a.limit, a.channel, 'e', false, a.eta_rec)
  end
  if a.notice ~= '' and not o.arriving then
    redis.call('HSET', k.order, 'arriving', '1')
    tell(o, k.log, a.limit, a.channel, 'n', false, a.notice)
  end
  alert_ops(k.alerts, a.channel, a.alerts)
  return answer('accepted', '', bump(k.order))
end

-- A fix of a car's own tracker.
local function fix(keys, argv)
  local order, log, track, alerts = keys[1], keys[2], keys[3], keys[4]
  local ids_prev, ids_this, ids_next = keys[5], keys[6], keys[7]
  local carrier, event_id, digest, target = argv[1], argv[2], argv[3], argv[4]
  local bucket, span = argv[5], argv[6]
  local at, received, rec, limit = num(argv[7]), argv[8], argv[9], argv[10]
  local channel, noise, position, member = argv[11], argv[12], argv[13], argv[14]
  local geo, eta_ms, eta_rec, notice, site, alerts_json = argv[15], argv[16], argv[17], argv[18], argv[19], argv[20]
  local leg, expect_rev = argv[21], argv[22]
  local k = {order = order, log = log, track = track, alerts = alerts}
  local a = {at = at, received = received, rec = rec, limit = limit, channel = channel,
    noise = noise, position = position, member = member, truck_stale = '', geo = geo,
    eta_ms = eta_ms, eta_rec = eta_rec, notice = notice, site = site, alerts = alerts_json, leg = leg}

  local o = read_order(k.order)
  if not o then return {'rejected', 'unknown_order', '', '', '0', ''} end
  if o.carrier_id ~= carrier then return {'rejected', 'not_your_order', '', '', '0', ''} end
  local ids, prior = dedupe(ids_prev, ids_this, ids_next, bucket, span, event_id)
  local seen, other = judge_seen(prior, digest)
  if seen == 'duplicate' then return {'duplicate', '', '', o.truck, tostring(o.truck_since), ''} end
  if seen then return {'rejected', 'event_id_reused', other, '', '0', ''} end
  if outdated(k.order, expect_rev) then return {'retry', '', '', o.truck, tostring(o.truck_since), ''} end
  remember(ids, event_id, digest .. '|' .. target, span)
  return apply_fix(o, k, a)
end

-- A truck's fix carried to one car on board, after the truck's own
-- (`truck_fix`, earlier in the same pipeline) recorded it for the carrier:
-- a fix the truck did not take as this very event moves no car. The
-- car's own ids make a retry apply it once.
local function carried_fix(keys, argv)
  local order, log, track, alerts = keys[1], keys[2], keys[3], keys[4]
  local ids_prev, ids_this, ids_next = keys[5], keys[6], keys[7]
  local carrier_prev, carrier_this, carrier_next = keys[8], keys[9], keys[10]
  local carrier, event_id, digest, target = argv[1], argv[2], argv[3], argv[4]
  local bucket, span, truck_id = argv[5], argv[6], argv[7]
  local at, received, rec, limit = num(argv[8]), argv[9], argv[10], argv[11]
  local channel, noise, position, member = argv[12], argv[13], argv[14], argv[15]
  local truck_stale, eta_ms, eta_rec, notice, site, alerts_json = argv[16], argv[17], argv[18], argv[19], argv[20], argv[21]
  local leg, expect_rev = argv[22], argv[23]
  local k = {order = order, log = log, track = track, alerts = alerts}
  local a = {at = at, received = received, rec = rec, limit = limit, channel = channel,
    noise = noise, position = position, member = member, truck_stale = truck_stale, geo = '',
    eta_ms = eta_ms, eta_rec = eta_rec, notice = notice, site = site, alerts = alerts_json, leg = leg}

  local o = read_order(k.order)
  if not o then return {'rejected', 'unknown_order', '', '', '0', ''} end
  if o.carrier_id ~= carrier then return {'rejected', 'not_your_order', '', '', '0', ''} end
  local since = tostring(o.truck_since)
  if o.truck ~= truck_id or a.at < o.truck_since then return {'skip', '', '', o.truck, since, ''} end
  local _, taken = dedupe(carrier_prev, carrier_this, carrier_next, bucket, span, event_id)
  if taken ~= digest .. '|' .. target then return {'skip', '', '', o.truck, since, ''} end
  local ids, prior = dedupe(ids_prev, ids_this, ids_next, bucket, span, event_id)
  if prior then return {'duplicate', '', '', o.truck, since, ''} end
  if outdated(k.order, expect_rev) then return {'retry', '', '', o.truck, since, ''} end
  remember(ids, event_id, digest .. '|' .. target, span)
  return apply_fix(o, k, a)
end

-- A truck's own GPS fix: moves the truck; the cars on board are applied
-- one by one with `fix` (via this truck).
local function truck_fix(keys, argv)
  local truck_key, on_board_key, track = keys[1], keys[2], keys[3]
  local ids_prev, ids_this, ids_next = keys[4], keys[5], keys[6]
  local carrier, event_id, digest, target = argv[1], argv[2], argv[3], argv[4]
  local bucket, span = argv[5], argv[6]
  local at, noise, position, member = num(argv[7]), argv[8], argv[9], argv[10]
  local geo, channel, truck_id, expect_rev = argv[11], argv[12], argv[13], argv[14]

  if redis.call('EXISTS', truck_key) == 0 then return {'rejected', 'unknown_truck', '', {}, ''} end
  local on_board = redis.call('ZRANGE', on_board_key, 0, -1)
  local ids, prior = dedupe(ids_prev, ids_this, ids_next, bucket, span, event_id)
  local seen, other = judge_seen(prior, digest)
  if seen == 'duplicate' then return {'duplicate', '', '', on_board, ''} end
  if seen then return {'rejected', 'event_id_reused', other, {}, ''} end
  if outdated(truck_key, expect_rev) then return {'retry', '', '', on_board, ''} end
  remember(ids, event_id, digest .. '|' .. target, span)
  if noise ~= '' then return {'filtered', noise, '', on_board, ''} end
  keep(track, at, member)
  if at < num(redis.call('HGET', truck_key, 'pos_at')) then
    return {'stale', '', '', on_board, tostring(bump(truck_key))}
  end
  if geo ~= '' then
    redis.call('HSET', truck_key, 'pos', position, 'pos_at', at, 'geo', geo)
  else
    redis.call('HSET', truck_key, 'pos', position, 'pos_at', at)
  end
  publish_truck(channel, carrier, truck_id, position)
  return {'accepted', '', '', on_board, tostring(bump(truck_key))}
end

-- Puts a car on a truck (scored by its loading time: a newer loading
-- wins), and marks the truck known to its carrier.
local function bind(keys, argv)
  local truck_key, on_board_key = keys[1], keys[2]
  local carrier, order_id, since = argv[1], argv[2], argv[3]
  redis.call('ZADD', on_board_key, 'GT', since, order_id)
  redis.call('HSETNX', truck_key, 'carrier_id', carrier)
  bump(truck_key)
  return 1
end

-- Takes a car off a truck, unless it was loaded onto it again later than
-- the loading this removal is about (instances may race).
local function unbind(keys, argv)
  local truck_key, on_board_key = keys[1], keys[2]
  local order_id, upto = argv[1], argv[2]
  local score = redis.call('ZSCORE', on_board_key, order_id)
  if score and tonumber(score) <= tonumber(upto) then
    redis.call('ZREM', on_board_key, order_id)
    bump(truck_key)
  end
  return 1
end

-- Marks a follow-up done: removes it from the order's list, and the order
-- from the repair index once nothing is left.
local function settle(keys, argv)
  local pending, index = keys[1], keys[2]
  local item, order_id = argv[1], argv[2]
  redis.call('LREM', pending, 1, item)
  if redis.call('LLEN', pending) == 0 then redis.call('ZREM', index, order_id) end
  return 1
end

-- Raises or clears alerts (the no-signal watch, follow-ups).
local function alert(keys, argv)
  local alerts = keys[1]
  local ops, channel = argv[1], argv[2]
  alert_ops(alerts, channel, ops)
  return 1
end

-- Attaches a stored clip to one order: the order's clip list, its history
-- and its live subscribers, together. A truck's clip only reaches a car
-- that was on that truck (`truck` '' for an order's own clip).
local function clip(keys, argv)
  local order_key, log, clips = keys[1], keys[2], keys[3]
  local carrier, clip_id, listing, rec = argv[1], argv[2], argv[3], argv[4]
  local limit, channel, truck, at = argv[5], argv[6], argv[7], num(argv[8])
  local o = read_order(order_key)
  if not o then return {'rejected', 'unknown_order', ''} end
  if carrier ~= '' and o.carrier_id ~= carrier then return {'rejected', 'not_your_order', ''} end
  if truck ~= '' and (o.truck ~= truck or at < o.truck_since) then
    return {'rejected', 'not_on_truck', ''}
  end
  redis.call('HSET', clips, clip_id, listing)
  local id = tell(o, log, limit, channel, 'c', false, rec)
  return {'accepted', '', id}
end

-- Creates an order unless it exists.
local function create(keys, argv)
  local order_key, timeline = keys[1], keys[2]
  local first_entry = argv[1]
  if redis.call('EXISTS', order_key) == 1 then return 0 end
  redis.call('HSET', order_key, unpack(argv, 2))
  redis.call('RPUSH', timeline, first_entry)
  return 1
end

-- Changes an order's fields; the VIN only until the car is produced.
-- Returns ok, missing or vin_locked.
local function patch(keys, argv)
  local order_key = keys[1]
  local m = redis.call('HGET', order_key, 'm')
  if not m then return 'missing' end
  for i = 1, #argv, 2 do
    if argv[i] == 'vin' and m ~= 'ordered' and redis.call('HGET', order_key, 'vin') ~= argv[i + 1] then
      return 'vin_locked'
    end
  end
  if #argv > 0 then redis.call('HSET', order_key, unpack(argv)) end
  bump(order_key)
  return 'ok'
end

-- Points an order at a new tracking link hash; returns the old hash.
local function rotate(keys, argv)
  local order_key = keys[1]
  local new_hash = argv[1]
  local old = redis.call('HGET', order_key, 'link_hash')
  if not old then return false end
  redis.call('HSET', order_key, 'link_hash', new_hash)
  return old
end

redis.register_function('vinpath3_scan', scan)
redis.register_function('vinpath3_cancel', cancel)
redis.register_function('vinpath3_fix', fix)
redis.register_function('vinpath3_carried_fix', carried_fix)
redis.register_function('vinpath3_truck_fix', truck_fix)
redis.register_function('vinpath3_bind', bind)
redis.register_function('vinpath3_unbind', unbind)
redis.register_function('vinpath3_settle', settle)
redis.register_function('vinpath3_alert', alert)
redis.register_function('vinpath3_clip', clip)
redis.register_function('vinpath3_create', create)
redis.register_function('vinpath3_patch', patch)
redis.register_function('vinpath3_rotate', rotate)
