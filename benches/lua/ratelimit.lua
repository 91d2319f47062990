-- A sliding-window rate limiter: ten redis.call per run.
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = 60
redis.call('zremrangebyscore', key, 0, now - window)
local count = redis.call('zcard', key)
if count < 100 then
  redis.call('zadd', key, now, now .. ':' .. count)
end
redis.call('expire', key, window)
redis.call('incr', key .. ':hits')
redis.call('expire', key .. ':hits', window)
local hits = redis.call('get', key .. ':hits')
redis.call('hincrby', 'stats', 'calls', 1)
redis.call('hget', 'stats', 'calls')
redis.call('ttl', key)
return {count, hits}
