local s = 0
for i = 1, 20000000 do s = s + i % 7 end
local j = 0
while j < 5000000 do j = j + 1 end
return s + j
