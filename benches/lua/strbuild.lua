local t = {} for i = 1, 300000 do t[#t+1] = tostring(i) .. ',' end return #table.concat(t)
