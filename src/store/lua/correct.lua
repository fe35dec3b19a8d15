-- Corrections: an order rewritten as replayed from its history without a
-- voided event, and a voided truck fix taken off its truck.

-- Writes a replayed order, if it is still at the revision it was read at
-- (else 'retry': read and replay again). `fields` is a JSON object of the
-- order's fields ('' removes one); `timeline` a JSON array of its
-- entries. The void is kept on the order (`void:<event_id>`), so voiding
-- twice does nothing more ('done'). Answers {status, cursor, follow-up}.
local function correct(keys, argv)
  local order_key, log, timeline, pending, index = keys[1], keys[2], keys[3], keys[4], keys[5]
  local ended, active, track = keys[6], keys[7], keys[8]
  local event_id, void, expect_rev, fields_json, timeline_json = argv[1], argv[2], argv[3], argv[4], argv[5]
  local rec, channel, ends_alerts, member, received = argv[6], argv[7], argv[8], argv[9], argv[10]

  local o = read_order(order_key)
  if not o then return {'missing', '', ''} end
  if redis.call('HEXISTS', order_key, 'void:' .. event_id) == 1 then return {'done', '', ''} end
  if o.rev ~= num(expect_rev) then return {'retry', '', ''} end
  local from, old_truck, old_since = o.milestone, o.truck, o.truck_since
  for field, value in pairs(cjson.decode(fields_json)) do
    if value == '' then
      redis.call('HDEL', order_key, field)
    else
      redis.call('HSET', order_key, field, value)
    end
  end
  o.rev = o.rev + 1
  redis.call('HSET', order_key, 'void:' .. event_id, void, 'updated_at', received, 'rev', o.rev)
  redis.call('DEL', timeline)
  for _, entry in ipairs(cjson.decode(timeline_json)) do redis.call('RPUSH', timeline, entry) end
  if member ~= '' then redis.call('ZREM', track, member) end
  local f = redis.call('HMGET', order_key, 'm', 'm_at', 'truck', 'truck_since')
  o.milestone, o.truck, o.truck_since = f[1], str(f[3]), num(f[4])
  -- A voided delivery reopens the order: off the archive's list, back
  -- among the active.
  if o.milestone == 'delivered' or o.milestone == 'cancelled' then
    redis.call('ZADD', ended, f[2], o.order_id)
  else
    redis.call('ZREM', ended, o.order_id)
    redis.call('SADD', active, o.order_id)
  end
  local followup = ''
  if o.truck ~= old_truck or (o.milestone ~= from and ends_alerts == '1') then
    followup = pend(pending, index, o, from, old_truck, old_since, received)
  end
  local id = tell(o, log, channel, 'v', false, rec)
  return {'voided', id, followup}
end

-- A truck's voided fix leaves its track; while it was the truck's
-- position, the newest fix before it (`position`, read by the caller, ''
-- none) takes its place. Answers 1.
local function void_truck_fix(keys, argv)
  local truck_key, track = keys[1], keys[2]
  local member, at, position, position_at, channel, carrier, truck_id = argv[1], argv[2], argv[3], argv[4], argv[5], argv[6], argv[7]
  redis.call('ZREM', track, member)
  if num(redis.call('HGET', truck_key, 'pos_at')) == num(at) then
    if position ~= '' then
      redis.call('HSET', truck_key, 'pos', position, 'pos_at', position_at)
      publish_truck(channel, carrier, truck_id, position)
    else
      redis.call('HDEL', truck_key, 'pos')
      redis.call('HSET', truck_key, 'pos_at', 0)
    end
  end
  bump(truck_key)
  return 1
end
