local P = {} P.__index = P function P.new(x) return setmetatable({x = x}, P) end function P:get() return self.x end local n = 0 for i = 1, 300000 do n = n + P.new(i):get() end return n
