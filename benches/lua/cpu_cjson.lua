local doc = {}
for i = 1, 2000 do
  doc[i] = {id = i, name = 'user' .. i, tags = {'a', 'b', 'c'}, score = i * 1.5, active = i % 2 == 0}
end
local total = 0
for round = 1, 50 do
  local s = cjson.encode(doc)
  local back = cjson.decode(s)
  total = total + #s + #back
end
return total
