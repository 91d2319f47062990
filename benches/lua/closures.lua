local n = 0 for i = 1, 1000000 do local f = function() return i end n = n + f() end return n
