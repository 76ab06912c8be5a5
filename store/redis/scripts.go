package redis

import goredis "github.com/redis/go-redis/v9"

// Every script touches exactly one key, so each runs on the node that owns
// that key's slot, on Redis Cluster as on a single server. Times are
// compared as 8-byte big-endian strings (timeBits), bytewise, so that no
// precision is lost to Lua's floating-point numbers.

// later is shared by the scripts: whether 8-byte time a is after b.
const later = `
local function later(a, b)
  for i = 1, 8 do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return false
end
`

// setScript stores an item and announces it.
//
//	KEYS[1]  the item's key
//	ARGV[1]  the encoded item
//	ARGV[2]  time to live in milliseconds; "0": none
//	ARGV[3]  "1": only if the stored item, if any, is not newer (a replay)
//	ARGV[4]  channel, ARGV[5] message
//
// It returns 1 when stored, 0 when a newer item was kept.
var setScript = goredis.NewScript(later + `
if ARGV[3] == '1' then
  local head = redis.call('GETRANGE', KEYS[1], 0, 8)
  if #head == 9 and string.byte(head, 1) == 1 and later(string.sub(head, 2, 9), string.sub(ARGV[1], 2, 9)) then
    return 0
  end
end
if ARGV[2] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
`)

// deleteScript deletes an item unless it is newer than upTo, and announces it.
//
//	KEYS[1]  the item's key
//	ARGV[1]  upTo: 8-byte time; all ones deletes any item
//	ARGV[2]  channel, ARGV[3] message
//
// It returns 1 when deleted, 0 when there was nothing to delete or the
// stored item is newer.
var deleteScript = goredis.NewScript(later + `
local head = redis.call('GETRANGE', KEYS[1], 0, 8)
if #head == 0 then return 0 end
if #head == 9 and string.byte(head, 1) == 1 and later(string.sub(head, 2, 9), ARGV[1]) then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`)

// tagsScript records tag revalidation times, keeping the later time of each
// tag and mode, and announces them if any moved forward (a write-back of
// times Redis already holds announces nothing).
//
//	KEYS[1]  the tag hash
//	ARGV[1]  channel, ARGV[2] message
//	ARGV[3], ARGV[4], ...  pairs of a tag and its times (stale, expire;
//	         zeros: not revalidated in that mode), 16 bytes, or 32 with the
//	         latest profile revalidation's marked and deadline
//
// Of two profile revalidations' pairs it keeps the later one (at the same
// instant, the earlier deadline), as tagTimes.merge does; a 16-byte value,
// as earlier versions wrote, has none. It returns the number of tags whose
// times moved forward.
var tagsScript = goredis.NewScript(later + `
local zero = string.rep('\0', 8)
local changed = 0
for i = 3, #ARGV, 2 do
  local tag, new = ARGV[i], ARGV[i + 1]
  local cur = redis.call('HGET', KEYS[1], tag)
  if cur and (#cur == 16 or #cur == 32) then
    local s, e = string.sub(new, 1, 8), string.sub(new, 9, 16)
    local cs, ce = string.sub(cur, 1, 8), string.sub(cur, 9, 16)
    if later(cs, s) then s = cs end
    if later(ce, e) then e = ce end
    local m, d, cm, cd = zero, zero, zero, zero
    if #new == 32 then m, d = string.sub(new, 17, 24), string.sub(new, 25, 32) end
    if #cur == 32 then cm, cd = string.sub(cur, 17, 24), string.sub(cur, 25, 32) end
    if not (m ~= zero and (later(m, cm) or (m == cm and later(cd, d)))) then m, d = cm, cd end
    new = s .. e
    if m ~= zero then new = new .. m .. d end
  end
  if new ~= cur then
    redis.call('HSET', KEYS[1], tag, new)
    changed = changed + 1
  end
end
if changed > 0 then
  redis.call('PUBLISH', ARGV[1], ARGV[2])
end
return changed
`)

// renewScript extends a lock's lease if the caller still holds it.
//
//	KEYS[1] the lock, ARGV[1] the holder's token, ARGV[2] lease in milliseconds
var renewScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// releaseScript deletes a lock if the caller still holds it.
//
//	KEYS[1] the lock, ARGV[1] the holder's token
var releaseScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)
