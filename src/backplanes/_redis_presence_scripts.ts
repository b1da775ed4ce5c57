/**
 * The Lua scripts of Redis presence. Each runs atomically on the node that
 * owns the topic's slot, so a member is added or removed, and its event
 * published, by exactly one script run in one process.
 *
 * A topic's keys, all with the topic in one `{hash tag}` (one slot):
 *
 * - `KEYS[1]` `:p` sorted set, process id → when it expires (ms, Redis's
 *   clock): renewed by each process's heartbeat while it has members here;
 * - `KEYS[2]` `:m` sorted set, member id → arrival number: the order of
 *   `list()` and its cap;
 * - `KEYS[3]` `:i` sorted set of `"<process> <member>"`, all scored 0: a
 *   process's members by range, for its heartbeat's count and its sweep;
 * - `KEYS[4]` `:h` hash, member id → `"<process> <metadata JSON>"`; field
 *   `""` numbers the arrivals.
 *
 * Every script gets `ARGV[1]` this process's id, `ARGV[2]` the topic's
 * channel, `ARGV[3]` `"1"` for sharded pub/sub, `ARGV[4]` the TTL and
 * `ARGV[5]` the keys' own TTL (ms), then its own arguments.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** A script and its SHA-1, for `EVALSHA`. */
export interface PresenceScript {
  readonly text: string;
  readonly sha: string;
}

const PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function publish(payload)
  if ARGV[3] == '1' then
    redis.call('SPUBLISH', ARGV[2], payload)
  else
    redis.call('PUBLISH', ARGV[2], payload)
  end
end
local function heartbeat(now)
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
  for k = 1, 4 do redis.call('PEXPIRE', KEYS[k], ARGV[5]) end
end
-- A process's entries in KEYS[3]: "<process> " up to "<process>!".
local function range_of(process)
  return '[' .. process .. ' ', '(' .. process .. '!'
end
-- Removes a member, announces it, and returns its metadata (nil: unknown).
local function remove(id)
  local value = redis.call('HGET', KEYS[4], id)
  if not value then return nil end
  local space = string.find(value, ' ', 1, true)
  redis.call('HDEL', KEYS[4], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], string.sub(value, 1, space - 1) .. ' ' .. id)
  local meta = string.sub(value, space + 1)
  publish(cjson.encode({'leave', ARGV[1], id, meta}))
  return meta
end
`;

function script(body: string): PresenceScript {
  const text = PRELUDE + body;
  return { text, sha: createHash("sha1").update(text).digest("hex") };
}

/** `ARGV[6]` the member id, `ARGV[7]` its metadata: 1 if added, 0 if it was there. */
export const JOIN: PresenceScript = script(`
local id = ARGV[6]
if redis.call('HEXISTS', KEYS[4], id) == 1 then return 0 end
local seq = redis.call('HINCRBY', KEYS[4], '', 1)
redis.call('HSET', KEYS[4], id, ARGV[1] .. ' ' .. ARGV[7])
redis.call('ZADD', KEYS[2], seq, id)
redis.call('ZADD', KEYS[3], 0, ARGV[1] .. ' ' .. id)
heartbeat(now_ms())
publish(cjson.encode({'join', ARGV[1], id, ARGV[7]}))
return 1
`);

/** `ARGV[6]` the member id: `{1, metadata}` if removed, `{0}` if unknown. */
export const LEAVE: PresenceScript = script(`
local meta = remove(ARGV[6])
if not meta then return {0} end
-- No member left here: the process stops counting as present.
if redis.call('ZLEXCOUNT', KEYS[3], range_of(ARGV[1])) == 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return {1, meta}
`);

/**
 * The heartbeat and the sweep. `ARGV[6]` `"1"` when this process has members
 * here (renews its expiry), `ARGV[7]` how many expired members it may remove
 * (0: none). Returns `{ours, id, metadata, …}`: how many members Redis holds
 * for this process (-1 without the heartbeat), then those it removed.
 */
export const TICK: PresenceScript = script(`
local now = now_ms()
local out = {-1}
if ARGV[6] == '1' then
  heartbeat(now)
  out[1] = redis.call('ZLEXCOUNT', KEYS[3], range_of(ARGV[1]))
end
local budget = tonumber(ARGV[7])
if budget <= 0 then return out end
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, budget)
for _, process in ipairs(dead) do
  if budget <= 0 then break end
  local from, to = range_of(process)
  local entries = redis.call('ZRANGEBYLEX', KEYS[3], from, to, 'LIMIT', 0, budget)
  for _, entry in ipairs(entries) do
    local id = string.sub(entry, #process + 2)
    redis.call('ZREM', KEYS[3], entry)
    local meta = remove(id)
    if meta then
      out[#out + 1] = id
      out[#out + 1] = meta
    end
  end
  budget = budget - #entries
  if redis.call('ZLEXCOUNT', KEYS[3], from, to) == 0 then
    redis.call('ZREM', KEYS[1], process)
  end
end
-- Members still to sweep: the keys live on for the next heartbeat's sweep.
-- Where no live process renews them, they would otherwise expire 2 TTLs
-- after the dead process's last beat, and its members past what the sweeps
-- in between could take would vanish without their leave.
if #redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, 1) > 0 then
  for k = 1, 4 do redis.call('PEXPIRE', KEYS[k], ARGV[5]) end
end
return out
`);

/** `ARGV[6]` `"1"` to renew this process's expiry: the ids Redis holds for it. */
export const OURS: PresenceScript = script(`
if ARGV[6] == '1' then heartbeat(now_ms()) end
local entries = redis.call('ZRANGEBYLEX', KEYS[3], range_of(ARGV[1]))
local skip = #ARGV[1] + 2
for k = 1, #entries do entries[k] = string.sub(entries[k], skip) end
return entries
`);

/**
 * `ARGV[6]` the most members to return: `{count, id, metadata, …}`, oldest
 * first, leaving out those of expired processes not swept yet.
 */
export const LIST: PresenceScript = script(`
local dead = {}
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now_ms(), 'LIMIT', 0, 1000)
for _, process in ipairs(expired) do dead[process] = true end
local out = {redis.call('ZCARD', KEYS[2])}
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[6]) - 1)) do
  local value = redis.call('HGET', KEYS[4], id)
  if value then
    local space = string.find(value, ' ', 1, true)
    if not dead[string.sub(value, 1, space - 1)] then
      out[#out + 1] = id
      out[#out + 1] = string.sub(value, space + 1)
    end
  end
end
return out
`);
