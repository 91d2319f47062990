//! Tables: an array part for keys 1..n and an insertion-ordered hash part.
//!
//! The hash part keeps its entries in a vector (a key set to nil stays as a dead entry
//! until the next rebuild), so `next` order is stable while existing keys change, and an
//! open-addressing index of entry numbers finds a key.

use super::value::{as_index, hash_value, raw_eq};
use super::{LStr, Value};
use std::rc::Rc;

const EMPTY: u32 = u32::MAX;
/// Hash parts up to this size are searched linearly (no index).
const LINEAR_MAX: usize = 8;

#[derive(Default)]
pub(crate) struct TableObj {
    pub arr: Vec<Value>,
    /// Hash entries in insertion order; a key set to nil stays until the next rehash.
    ents: Vec<(Value, Value)>,
    /// Open-addressing index of `ents` (empty while the part is small).
    slots: Vec<u32>,
    /// Lua's node-part size: reaching it triggers a rehash (and array resizing).
    lcap: usize,
    pub meta: Option<u32>,
    pub readonly: bool,
}

impl TableObj {
    pub fn with_capacity(narr: usize, nhash: usize) -> TableObj {
        let mut t = TableObj {
            arr: Vec::with_capacity(narr.min(1 << 20)),
            ..Default::default()
        };
        if nhash > 0 {
            let n = nhash.min(1 << 20);
            t.ents.reserve(n);
            t.lcap = n.next_power_of_two();
            t.reindex();
        }
        t
    }

    /// Approximate bytes held.
    pub fn size(&self) -> usize {
        56 + self.arr.capacity() * 24 + self.ents.capacity() * 48 + self.slots.capacity() * 4
    }

    #[inline]
    fn find(&self, k: &Value) -> Option<usize> {
        if self.slots.is_empty() {
            return self.ents.iter().position(|(ek, _)| raw_eq(ek, k));
        }
        let mask = self.slots.len() - 1;
        let mut i = hash_value(k) as usize & mask;
        loop {
            let s = self.slots[i];
            if s == EMPTY {
                return None;
            }
            if raw_eq(&self.ents[s as usize].0, k) {
                return Some(s as usize);
            }
            i = (i + 1) & mask;
        }
    }

    /// [`TableObj::find_str`] for a string value: the same string object (string
    /// constants of a chunk are shared) matches without comparing bytes.
    #[inline]
    fn find_lstr(&self, k: &LStr) -> Option<usize> {
        let kb = k.as_bytes();
        let same = |ek: &Value| match ek {
            Value::Str(s) => Rc::ptr_eq(&s.0, &k.0) || s.as_bytes() == kb,
            _ => false,
        };
        if self.slots.is_empty() {
            return self.ents.iter().position(|(ek, _)| same(ek));
        }
        let mask = self.slots.len() - 1;
        let mut i = super::value::hash_bytes(kb) as usize & mask;
        loop {
            let s = self.slots[i];
            if s == EMPTY {
                return None;
            }
            if same(&self.ents[s as usize].0) {
                return Some(s as usize);
            }
            i = (i + 1) & mask;
        }
    }

    #[inline]
    fn find_str(&self, k: &[u8]) -> Option<usize> {
        if self.slots.is_empty() {
            return self
                .ents
                .iter()
                .position(|(ek, _)| matches!(ek, Value::Str(s) if s.as_bytes() == k));
        }
        let mask = self.slots.len() - 1;
        let mut i = super::value::hash_bytes(k) as usize & mask;
        loop {
            let s = self.slots[i];
            if s == EMPTY {
                return None;
            }
            if let Value::Str(ks) = &self.ents[s as usize].0 {
                if ks.as_bytes() == k {
                    return Some(s as usize);
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Rebuilds the index for `lcap` entries (none while small).
    fn reindex(&mut self) {
        if self.lcap <= LINEAR_MAX {
            self.slots = Vec::new();
            return;
        }
        let cap = (self.lcap * 2).next_power_of_two();
        self.slots = vec![EMPTY; cap];
        let mask = cap - 1;
        for (n, (k, _)) in self.ents.iter().enumerate() {
            let mut i = hash_value(k) as usize & mask;
            while self.slots[i] != EMPTY {
                i = (i + 1) & mask;
            }
            self.slots[i] = n as u32;
        }
    }

    /// Drops dead entries.
    fn compact(&mut self) {
        self.ents.retain(|(_, v)| !v.is_nil());
    }

    #[inline]
    pub fn get_int(&self, i: i64) -> Value {
        if i >= 1 && (i as usize) <= self.arr.len() {
            return self.arr[i as usize - 1].clone();
        }
        if self.ents.is_empty() {
            return Value::Nil;
        }
        match self.find(&Value::Num(i as f64)) {
            Some(n) => self.ents[n].1.clone(),
            None => Value::Nil,
        }
    }

    pub fn get_str(&self, k: &[u8]) -> Value {
        match self.find_str(k) {
            Some(n) => self.ents[n].1.clone(),
            None => Value::Nil,
        }
    }

    #[inline]
    pub fn get(&self, k: &Value) -> Value {
        match k {
            Value::Num(n) => {
                if let Some(i) = as_index(*n) {
                    return self.get_int(i);
                }
                if n.is_nan() {
                    return Value::Nil;
                }
            }
            Value::Nil => return Value::Nil,
            Value::Str(s) => {
                return match self.find_lstr(s) {
                    Some(n) => self.ents[n].1.clone(),
                    None => Value::Nil,
                }
            }
            _ => {}
        }
        match self.find(k) {
            Some(n) => self.ents[n].1.clone(),
            None => Value::Nil,
        }
    }

    /// Sets a key (the caller checked it is neither nil nor NaN). Returns the number of
    /// bytes the table grew by, approximately.
    #[inline]
    pub fn set(&mut self, k: Value, v: Value) -> usize {
        if let Value::Num(n) = k {
            if let Some(i) = as_index(n) {
                return self.set_int(i, v);
            }
        }
        self.set_hash(k, v)
    }

    pub fn set_int(&mut self, i: i64, v: Value) -> usize {
        let len = self.arr.len();
        if i >= 1 && (i as usize) <= len {
            self.arr[i as usize - 1] = v;
            return 0;
        }
        if i as usize == len + 1 && i >= 1 {
            if v.is_nil() {
                // Might still live in the hash part.
                if !self.ents.is_empty() {
                    if let Some(n) = self.find(&Value::Num(i as f64)) {
                        self.ents[n].1 = Value::Nil;
                    }
                }
                return 0;
            }
            let cap = self.arr.capacity();
            self.arr.push(v);
            if !self.ents.is_empty() {
                // Remove a duplicate from the hash part, then pull following keys over.
                if let Some(n) = self.find(&Value::Num(i as f64)) {
                    self.ents[n].1 = Value::Nil;
                }
                loop {
                    let nk = Value::Num((self.arr.len() + 1) as f64);
                    match self.find(&nk) {
                        Some(n) if !self.ents[n].1.is_nil() => {
                            let val = std::mem::take(&mut self.ents[n].1);
                            self.arr.push(val);
                        }
                        _ => break,
                    }
                }
            }
            return (self.arr.capacity() - cap) * 24;
        }
        self.set_hash(Value::Num(i as f64), v)
    }

    /// A constructor's positional item: goes to the array part even when nil.
    pub fn set_list_item(&mut self, i: usize, v: Value) -> usize {
        let len = self.arr.len();
        if i >= 1 && i <= len {
            self.arr[i - 1] = v;
            return 0;
        }
        if i == len + 1 {
            let cap = self.arr.capacity();
            self.arr.push(v);
            if !self.ents.is_empty() {
                if let Some(n) = self.find(&Value::Num(i as f64)) {
                    self.ents[n].1 = Value::Nil;
                }
            }
            return (self.arr.capacity() - cap) * 24;
        }
        self.set_int(i as i64, v)
    }

    /// Lua's `rehash` sizing: the largest n such that more than n/2 of the slots 1..n
    /// would be used becomes the array part (counting the key being inserted).
    fn grow_array(&mut self, newkey: &Value) {
        let mut nums = [0usize; 65];
        let mut total = 0usize;
        fn slot(k: usize) -> usize {
            (usize::BITS - (k - 1).leading_zeros()) as usize
        }
        for (i, v) in self.arr.iter().enumerate() {
            if !v.is_nil() {
                nums[slot(i + 1)] += 1;
                total += 1;
            }
        }
        let mut count = |k: &Value| {
            if let Value::Num(n) = k {
                if let Some(i) = as_index(*n) {
                    if (1..=(1 << 26)).contains(&i) {
                        nums[slot(i as usize)] += 1;
                        total += 1;
                    }
                }
            }
        };
        for (k, v) in &self.ents {
            if !v.is_nil() {
                count(k);
            }
        }
        count(newkey);
        let (mut a, mut n, mut twotoi, mut i) = (0usize, 0usize, 1usize, 0usize);
        while twotoi / 2 < total && i < nums.len() {
            if nums[i] > 0 {
                a += nums[i];
                if a > twotoi / 2 {
                    n = twotoi;
                }
            }
            twotoi *= 2;
            i += 1;
        }
        if n > self.arr.len() {
            let old = self.arr.len();
            self.arr.resize(n, Value::Nil);
            for (k, v) in self.ents.iter_mut() {
                if let Value::Num(x) = k {
                    if let Some(i) = as_index(*x) {
                        if i as usize > old && i as usize <= n && !v.is_nil() {
                            self.arr[i as usize - 1] = std::mem::take(v);
                        }
                    }
                }
            }
        }
    }

    fn set_hash(&mut self, k: Value, v: Value) -> usize {
        if let Some(n) = self.find(&k) {
            self.ents[n].1 = v;
            return 0;
        }
        if v.is_nil() {
            return 0;
        }
        let before = self.size();
        if self.ents.len() >= self.lcap {
            // Lua's rehash: resize the array part, then the node part.
            if let Value::Num(_) = k {
                self.grow_array(&k);
            }
            self.compact();
            if let Value::Num(n) = k {
                if let Some(i) = as_index(n) {
                    if i >= 1 && (i as usize) <= self.arr.len() {
                        self.arr[i as usize - 1] = v;
                        self.lcap = self.ents.len().next_power_of_two();
                        self.reindex();
                        return self.size().saturating_sub(before);
                    }
                }
            }
            self.lcap = (self.ents.len() + 1).next_power_of_two();
            self.reindex();
        }
        if !self.slots.is_empty() {
            let mask = self.slots.len() - 1;
            let mut i = hash_value(&k) as usize & mask;
            while self.slots[i] != EMPTY {
                i = (i + 1) & mask;
            }
            self.slots[i] = self.ents.len() as u32;
        }
        self.ents.push((k, v));
        self.size().saturating_sub(before)
    }

    fn hash_has_int(&self, i: usize) -> bool {
        !self.ents.is_empty() && !self.get_int(i as i64).is_nil()
    }

    /// `luaH_getn`: a border.
    pub fn len(&self) -> usize {
        let j = self.arr.len();
        if j > 0 && self.arr[j - 1].is_nil() {
            let (mut i, mut j) = (0usize, j);
            while j - i > 1 {
                let m = (i + j) / 2;
                if self.arr[m - 1].is_nil() {
                    j = m;
                } else {
                    i = m;
                }
            }
            return i;
        }
        if self.ents.is_empty() {
            return j;
        }
        // Unbound search in the hash part.
        let mut i = j;
        let mut j = j + 1;
        while self.hash_has_int(j) {
            i = j;
            if j > (1usize << 52) {
                // Pathological: linear search.
                let mut k = 1;
                while self.hash_has_int(k) {
                    k += 1;
                }
                return k - 1;
            }
            j *= 2;
        }
        while j - i > 1 {
            let m = (i + j) / 2;
            if !self.hash_has_int(m) {
                j = m;
            } else {
                i = m;
            }
        }
        i
    }

    /// `next`: Ok(None) at the end, Err(()) for a key not in the table.
    pub fn next(&self, k: &Value) -> Result<Option<(Value, Value)>, ()> {
        let mut start_hash = 0;
        let mut ai = match k {
            Value::Nil => 0,
            Value::Num(n) => match as_index(*n) {
                Some(i) if i >= 1 && (i as usize) <= self.arr.len() => i as usize,
                _ => {
                    start_hash = self.find(k).ok_or(())? + 1;
                    usize::MAX
                }
            },
            _ => {
                start_hash = self.find(k).ok_or(())? + 1;
                usize::MAX
            }
        };
        if ai != usize::MAX {
            while ai < self.arr.len() {
                if !self.arr[ai].is_nil() {
                    return Ok(Some((Value::Num((ai + 1) as f64), self.arr[ai].clone())));
                }
                ai += 1;
            }
        }
        for (k, v) in self.ents.iter().skip(start_hash) {
            if !v.is_nil() {
                return Ok(Some((k.clone(), v.clone())));
            }
        }
        Ok(None)
    }

    /// Every value held (for the collector).
    pub fn for_each(&self, mut f: impl FnMut(&Value)) {
        for v in &self.arr {
            f(v);
        }
        for (k, v) in &self.ents {
            if !v.is_nil() {
                f(k);
                f(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_and_hash() {
        let mut t = TableObj::default();
        t.set(Value::Num(2.0), Value::Bool(true));
        t.set(Value::Num(1.0), Value::Bool(true));
        assert_eq!(t.arr.len(), 2);
        assert_eq!(t.len(), 2);
        t.set(Value::str(b"x"), Value::Num(1.0));
        assert!(matches!(t.get(&Value::str(b"x")), Value::Num(_)));
        t.set(Value::str(b"x"), Value::Nil);
        assert!(t.get(&Value::str(b"x")).is_nil());
        let mut n = 0;
        let mut k = Value::Nil;
        while let Ok(Some((nk, _))) = t.next(&k) {
            n += 1;
            k = nk;
        }
        assert_eq!(n, 2);
    }
}
