local parts = {}
for i = 1, 200000 do parts[#parts + 1] = 'item' .. i end
local s = table.concat(parts, ',')
local n = 0
for w in string.gmatch(s, 'item(%d+)') do n = n + #w end
local r = string.gsub(s, 'item(%d)', '%1x')
local found = 0
for i = 1, 2000 do if string.find(s, 'item' .. i .. ',', 1, true) then found = found + 1 end end
return n + #r + found
