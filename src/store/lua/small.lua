-- The small functions: truck bindings, follow-ups, alerts, clips, orders.

-- Puts a car on a truck (scored by its loading time: a newer loading
-- wins), and marks the truck known to its carrier.
local function bind(keys, argv)
  local truck_key, on_board_key, cars_key = keys[1], keys[2], keys[3]
  local carrier, order_id, since = argv[1], argv[2], argv[3]
  redis.call('ZADD', on_board_key, 'GT', since, order_id)
  -- Every car it carried, by loading: the cars a voided fix of it moved.
  redis.call('ZADD', cars_key, 'GT', since, order_id)
  if redis.call('ZCARD', cars_key) > 1000 then redis.call('ZREMRANGEBYRANK', cars_key, 0, -1001) end
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

-- A dispatcher acknowledges an open alert: kept on it (`ack`), told to
-- every dispatcher. Answers the alert as it now reads, or false when it is
-- not open (cleared meanwhile, or never raised).
local function ack_alert(keys, argv)
  local alerts = keys[1]
  local alert_id, ack, channel = argv[1], argv[2], argv[3]
  local raw = redis.call('HGET', alerts, alert_id)
  if not raw then return false end
  local alert = cjson.decode(raw)
  alert.ack = cjson.decode(ack)
  local updated = cjson.encode(alert)
  redis.call('HSET', alerts, alert_id, updated)
  publish_alert(channel, 'acked', updated)
  return updated
end

-- Raises or clears alerts (the no-signal watch, follow-ups).
local function alert(keys, argv)
  local alerts = keys[1]
  local ops, channel = argv[1], argv[2]
  alert_ops(alerts, channel, ops)
  return 1
end

-- Raises no_signal for an order still in transit whose newest fix is
-- still the one the watch saw (a fix or a scan since then wins); tells the
-- fleet and moves the order's revision only when it is newly raised.
local function quiet(keys, argv)
  local order_key, alerts = keys[1], keys[2]
  local alert_id, alert_json, last_ms, channel = argv[1], argv[2], argv[3], argv[4]
  local f = redis.call('HMGET', order_key, 'm', 'pos_at')
  if f[1] ~= 'in_transit' or num(f[2]) > num(last_ms) then return 0 end
  if redis.call('HSETNX', alerts, alert_id, alert_json) == 0 then return 0 end
  publish_alert(channel, 'raised', alert_json)
  bump(order_key)
  return 1
end

-- Attaches a stored clip to one order: the order's clip list, its history
-- and its live subscribers, together. A truck's clip only reaches a car
-- that was on that truck (`truck` '' for an order's own clip).
local function clip(keys, argv)
  local order_key, log, clips = keys[1], keys[2], keys[3]
  local carrier, clip_id, listing, rec = argv[1], argv[2], argv[3], argv[4]
  local channel, truck, at = argv[5], argv[6], num(argv[7])
  local o = read_order(order_key)
  if not o then return {'rejected', 'unknown_order', ''} end
  if carrier ~= '' and o.carrier_id ~= carrier then return {'rejected', 'not_your_order', ''} end
  if truck ~= '' and (o.truck ~= truck or at < o.truck_since) then
    return {'rejected', 'not_on_truck', ''}
  end
  redis.call('HSET', clips, clip_id, listing)
  local id = tell(o, log, channel, 'c', false, rec)
  return {'accepted', '', id}
end

-- Records an inspection of an order: kept by its id, told in the order's
-- history and live (change 'i'), and, when it found damage no earlier
-- stage saw, the order's damage alert raised (replacing one still open:
-- the newest damage is what a dispatcher must see), all at once. A repeated id
-- answers the record kept first ({'duplicate', '', kept}) when its body
-- is the same (its digest), {'rejected', 'inspection_conflict', ''} when
-- not.
local function inspect(keys, argv)
  local order_key, log, inspections, alerts = keys[1], keys[2], keys[3], keys[4]
  local carrier, inspection_id, kept, digest, rec = argv[1], argv[2], argv[3], argv[4], argv[5]
  local channel, alert_id, alert = argv[6], argv[7], argv[8]
  local o = read_order(order_key)
  if not o then return {'rejected', 'unknown_order', ''} end
  if carrier ~= '' and o.carrier_id ~= carrier then return {'rejected', 'not_your_order', ''} end
  local prior = redis.call('HGET', inspections, inspection_id)
  if prior then
    if cjson.decode(prior).digest == digest then return {'duplicate', '', prior} end
    return {'rejected', 'inspection_conflict', ''}
  end
  redis.call('HSET', inspections, inspection_id, kept)
  local cursor = tell(o, log, channel, 'i', false, rec)
  if alert ~= '' then
    redis.call('HSET', alerts, alert_id, alert)
    publish_alert(channel, 'raised', alert)
  end
  return {'accepted', '', cursor}
end

-- The customer signs for the car at the door, once it is out for delivery:
-- the handover kept for this delivery run (the time it went out), its code
-- given, told in history and live (change 'h'). A retry with the same body
-- answers the code given first ({'duplicate', '', code}); another body
-- {'rejected', 'handover_conflict', ''}, unless that code was locked by
-- wrong tries: then signing again gives a new one. A handover of an
-- earlier run (the car came back and went out again) is replaced.
local function handover(keys, argv)
  local order_key, log, handover_key = keys[1], keys[2], keys[3]
  local digest, code, kept, signature, rec, channel = argv[1], argv[2], argv[3], argv[4], argv[5], argv[6]
  local o = read_order(order_key)
  if not o then return {'rejected', 'unknown_order', ''} end
  if o.milestone ~= 'out_for_delivery' then return {'rejected', 'not_out_for_delivery', ''} end
  local h = redis.call('HMGET', handover_key, 'for', 'digest', 'code', 'tries')
  if h[1] and num(h[1]) == o.m_at and num(h[4]) < 5 then
    if h[2] == digest then return {'duplicate', '', h[3]} end
    return {'rejected', 'handover_conflict', ''}
  end
  redis.call('DEL', handover_key)
  redis.call('HSET', handover_key, 'for', o.m_at, 'digest', digest, 'code', code, 'tries', 0,
    'record', kept, 'signature', signature)
  tell(o, log, channel, 'h', false, rec)
  return {'accepted', '', code}
end

-- A camera's broadcast on now: '' when none, or when it has been silent
-- for 3 target durations (it has ended).
local function on_air(state, now)
  local f = redis.call('HMGET', state, 'bcast', 'last_ms', 'target')
  local bcast = str(f[1])
  if bcast ~= '' and now - num(f[2]) > 3000 * math.max(num(f[3]), 1) then return '' end
  return bcast
end

-- A camera's segment listed for viewers, under vinpath's own sequence
-- number, and its name noted as listed in this broadcast; the first of a
-- broadcast starts it. Answers 1 when it started one.
local function list_segment(state, segs, done, rec, name, seg, dur, now)
  local bcast, started = on_air(state, now), 0
  if bcast == '' then
    bcast = tostring(now); started = 1
    redis.call('DEL', done)
  end
  local seq = num(redis.call('HGET', state, 'seq'))
  local init = redis.call('HGET', state, 'init')
  if seg.k ~= 'm4s' then init = nil end
  local listed = cjson.encode({seq = seq, obj = seg.obj, k = seg.k, n = seg.n,
    put = seg.put, dur = dur, at = now, b = bcast, i = init or nil})
  redis.call('RPUSH', segs, listed)
  redis.call('LTRIM', segs, -50, -1)
  -- The whole broadcast, for its recording.
  redis.call('RPUSH', rec, listed)
  redis.call('HSET', state, 'bcast', bcast, 'seq', seq + 1, 'last_ms', now)
  redis.call('HSET', done, name, seq)
  return started
end

-- A broadcast ends (`#EXT-X-ENDLIST`) once every segment its last
-- playlist named is listed. Answers the broadcast it ended ('' none).
local function end_if_done(state, named, done, now)
  if str(redis.call('HGET', state, 'ending')) ~= '1' or redis.call('HLEN', named) > 0 then return '' end
  redis.call('HSET', state, 'ending', '')
  redis.call('DEL', done)
  local bcast = str(redis.call('HGET', state, 'bcast'))
  if bcast == '' then return '' end
  redis.call('HSET', state, 'bcast', '', 'ended_ms', now)
  return bcast
end

-- A camera's playlist named these segments (name, duration pairs from
-- argv[4]): those that arrived are listed in its order; the others wait
-- (an encoder sends the playlist as a segment's upload closes) and are
-- listed as they arrive; those listed already, and names that left the
-- camera's window, are passed over. Answers {started, ended} (1 or 0).
local function live(keys, argv)
  local state, segs, arrived, named, done, rec = keys[1], keys[2], keys[3], keys[4], keys[5], keys[6]
  local now, target, ended = num(argv[1]), num(argv[2]), argv[3]
  if on_air(state, now) == '' then redis.call('DEL', done) end
  redis.call('HSET', state, 'target', target)
  local started, inside = 0, {}
  -- One named segment: listed now, waited for, or passed over.
  local function one(name, dur)
    inside[name] = true
    if redis.call('HEXISTS', done, name) == 1 then return end
    local got = redis.call('HGET', arrived, name)
    if not got then
      redis.call('HSET', named, name, dur)
      return
    end
    started = math.max(started, list_segment(state, segs, done, rec, name, cjson.decode(got), tonumber(dur), now))
    redis.call('HDEL', arrived, name)
    redis.call('HDEL', named, name)
  end
  for i = 4, #argv, 2 do one(argv[i], argv[i + 1]) end
  for _, key in ipairs({named, done}) do
    for _, name in ipairs(redis.call('HKEYS', key)) do
      if not inside[name] then redis.call('HDEL', key, name) end
    end
  end
  if ended == '1' then redis.call('HSET', state, 'ending', '1') end
  return {started, end_if_done(state, named, done, now)}
end

-- A camera's segment arrived whole (`seg`: its object, kind, size, when):
-- listed at once if a playlist named it, else kept until one does.
-- Answers {started, ended}.
local function arrive(keys, argv)
  local state, segs, arrived, named, done, rec = keys[1], keys[2], keys[3], keys[4], keys[5], keys[6]
  local name, seg, now = argv[1], argv[2], num(argv[3])
  local dur = redis.call('HGET', named, name)
  if not dur then
    redis.call('HSET', arrived, name, seg)
    return {0, ''}
  end
  redis.call('HDEL', named, name)
  local started = list_segment(state, segs, done, rec, name, cjson.decode(seg), tonumber(dur), now)
  return {started, end_if_done(state, named, done, now)}
end

-- A camera that shows a car went live or off: told in the car's history
-- and live (change 'l'). Answers the cursor ('' for an unknown order).
local function tell_live(keys, argv)
  local order_key, log = keys[1], keys[2]
  local rec, channel = argv[1], argv[2]
  local o = read_order(order_key)
  if not o then return '' end
  return tell(o, log, channel, 'l', false, rec)
end

-- A camera's broadcast silent for 3 target durations ends. Answers the
-- broadcast it ended now ('' none).
local function quiet_camera(keys, argv)
  local state, done = keys[1], keys[2]
  local now = num(argv[1])
  local f = redis.call('HMGET', state, 'bcast', 'last_ms', 'target')
  if str(f[1]) == '' or now - num(f[2]) <= 3000 * math.max(num(f[3]), 1) then return '' end
  redis.call('HSET', state, 'bcast', '', 'ended_ms', now, 'ending', '')
  redis.call('DEL', done)
  return f[1]
end

-- Takes the segments of an ended broadcast out of the camera's recording
-- list (a broadcast begun since stays). Answers them, oldest first.
local function take_recording(keys, argv)
  local rec = keys[1]
  local bcast = argv[1]
  local taken, kept = {}, {}
  for _, s in ipairs(redis.call('LRANGE', rec, 0, -1)) do
    if cjson.decode(s).b == bcast then taken[#taken + 1] = s else kept[#kept + 1] = s end
  end
  redis.call('DEL', rec)
  if #kept > 0 then redis.call('RPUSH', rec, unpack(kept)) end
  return taken
end

-- Creates an order unless it exists.
local function create(keys, argv)
  local order_key, timeline, archived = keys[1], keys[2], keys[3]
  local first_entry, order_id = argv[1], argv[2]
  if redis.call('EXISTS', order_key) == 1 then return 0 end
  -- An archived order's id is taken for good.
  if redis.call('HEXISTS', archived, order_id) == 1 then return 0 end
  redis.call('HSET', order_key, unpack(argv, 3))
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
  local new_hash, order_id, channel = argv[1], argv[2], argv[3]
  local old = redis.call('HGET', order_key, 'link_hash')
  if not old then return false end
  redis.call('HSET', order_key, 'link_hash', new_hash)
  publish_link(channel, order_id)
  return old
end

-- A carrier's event id claimed on a Redis Cluster, before its event is
-- applied in its order's or truck's slot (where the carrier's ids are
-- not): 'new' (claimed now), 'same' (claimed before by this very event: a
-- retry, which the target's own ids then judge) or 'reused' (another
-- event holds it; answers its target).
local function claim(keys, argv)
  local ids_prev, ids_this, ids_next = keys[1], keys[2], keys[3]
  local event_id, digest, target, bucket, span = argv[1], argv[2], argv[3], argv[4], argv[5]
  local ids, prior = dedupe(ids_prev, ids_this, ids_next, bucket, span, event_id)
  local seen, other = judge_seen(prior, digest)
  if seen == 'duplicate' then return {'same', ''} end
  if seen then return {'reused', other} end
  remember(ids, event_id, digest .. '|' .. target, span)
  return {'new', ''}
end

-- Gives up a claim whose event was rejected (rejected events are not
-- remembered, so the id may be sent again), if it is still this event's.
local function unclaim(keys, argv)
  local ids_prev, ids_this, ids_next = keys[1], keys[2], keys[3]
  local event_id, digest, target = argv[1], argv[2], argv[3]
  local value = digest .. '|' .. target
  local n = 0
  for _, k in ipairs({ids_prev, ids_this, ids_next}) do
    if redis.call('HGET', k, event_id) == value then
      n = n + redis.call('HDEL', k, event_id)
    end
  end
  return n
end

-- An archived order leaves Redis: its keys and its places in its
-- partition's indexes, if it has ended and nothing was added to its history
-- since it was read for the archive (its newest entry is still `last`).
-- Answers {1, link hash} when forgotten, {0, ''} when not.
local function forget(keys, argv)
  local order_key, log, timeline, track, clips, route, pending = keys[1], keys[2], keys[3], keys[4], keys[5], keys[6], keys[7]
  local ended, active, ids_prev, ids_this, ids_next, spilled = keys[8], keys[9], keys[10], keys[11], keys[12], keys[13]
  local archived, photos, inspections, handover = keys[14], keys[15], keys[16], keys[17]
  local order_id, last = argv[1], argv[2]
  local f = redis.call('HMGET', order_key, 'm', 'link_hash', 'm_at')
  if f[1] ~= 'delivered' and f[1] ~= 'cancelled' then return {0, ''} end
  local newest = redis.call('XREVRANGE', log, '+', '-', 'COUNT', 1)
  local now = ''
  if newest[1] then now = newest[1][1] end
  if now ~= last then return {0, ''} end
  redis.call('DEL', order_key, log, timeline, track, clips, route, pending, ids_prev, ids_this, ids_next, spilled, photos, inspections, handover)
  redis.call('ZREM', ended, order_id)
  -- When it ended stays: its clips keep their own retention from then.
  redis.call('HSET', archived, order_id, str(f[3]))
  redis.call('SREM', active, order_id)
  return {1, str(f[2])}
end

-- The oldest part of an order's history, stored in the object store,
-- leaves Redis: recorded among the order's spilled parts, and trimmed from
-- its stream, if its stream still starts at `first` (no other instance
-- spilled it meanwhile). Answers 1 when done, 0 when not.
local function spill(keys, argv)
  local log, spilled = keys[1], keys[2]
  local first, min_kept, part = argv[1], argv[2], argv[3]
  local oldest = redis.call('XRANGE', log, '-', '+', 'COUNT', 1)
  if not oldest[1] or oldest[1][1] ~= first then return 0 end
  redis.call('RPUSH', spilled, part)
  redis.call('XTRIM', log, 'MINID', min_kept)
  return 1
end

-- A seat for one more socket of a tracking link, across every instance:
-- seats are leases (renewed while their socket lives), so an instance that
-- died gives its seats back when their leases end. Answers 1 (seated) or 0
-- (the link holds the most already).
local function seat(keys, argv)
  local seats = keys[1]
  local seat_id, until_ms, most, now_ms = argv[1], argv[2], num(argv[3]), argv[4]
  redis.call('ZREMRANGEBYSCORE', seats, '-inf', '(' .. now_ms)
  if redis.call('ZSCORE', seats, seat_id) then return 1 end
  if redis.call('ZCARD', seats) >= most then return 0 end
  redis.call('ZADD', seats, until_ms, seat_id)
  -- The key lives as long as its longest lease.
  local longest = redis.call('ZRANGE', seats, -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', seats, longest[2])
  return 1
end

redis.register_function('vinpath8_handover', handover)
redis.register_function('vinpath8_live', live)
redis.register_function('vinpath8_arrive', arrive)
redis.register_function('vinpath8_tell_live', tell_live)
redis.register_function('vinpath8_quiet_camera', quiet_camera)
redis.register_function('vinpath8_take_recording', take_recording)
redis.register_function('vinpath8_claim', claim)
redis.register_function('vinpath8_enqueue', enqueue)
redis.register_function('vinpath8_take', take)
redis.register_function('vinpath8_attempt', attempt)
redis.register_function('vinpath8_redeliver', redeliver)
redis.register_function('vinpath8_forget_deliveries', forget_deliveries)
redis.register_function('vinpath8_seat', seat)
redis.register_function('vinpath8_spill', spill)
redis.register_function('vinpath8_forget', forget)
redis.register_function('vinpath8_unclaim', unclaim)
redis.register_function('vinpath8_scan', scan)
redis.register_function('vinpath8_cancel', cancel)
redis.register_function('vinpath8_fix', fix)
redis.register_function('vinpath8_carried_fix', carried_fix)
redis.register_function('vinpath8_truck_fix', truck_fix)
redis.register_function('vinpath8_bind', bind)
redis.register_function('vinpath8_unbind', unbind)
redis.register_function('vinpath8_settle', settle)
redis.register_function('vinpath8_alert', alert)
redis.register_function('vinpath8_quiet', quiet)
redis.register_function('vinpath8_clip', clip)
redis.register_function('vinpath8_inspect', inspect)
redis.register_function('vinpath8_create', create)
redis.register_function('vinpath8_patch', patch)
redis.register_function('vinpath8_rotate', rotate)
redis.register_function('vinpath8_correct', correct)
redis.register_function('vinpath8_ack_alert', ack_alert)
redis.register_function('vinpath8_void_truck_fix', void_truck_fix)
