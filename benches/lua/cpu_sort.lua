local t = {}
local x = 12345
for i = 1, 100000 do x = (x * 1103515245 + 12345) % 2147483648 t[i] = x end
table.sort(t)
local u = {}
for i = 1, 100000 do u[i] = t[100001 - i] end
table.sort(u, function(a, b) return a > b end)
return t[1] + u[1]
