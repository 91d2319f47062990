//! The libraries Redis 7.0 adds to its Lua state: `cjson`, `cmsgpack`, `bit`, `struct`.

pub mod bit;
pub mod json;
pub mod msgpack;
pub mod structs;

/// What an encoder sees of a Lua value.
#[derive(Debug)]
pub enum View<'a> {
    Nil,
    /// `cjson.null`.
    Null,
    Bool(bool),
    Num(f64),
    Str(&'a [u8]),
    Table,
    /// Anything else (function, userdata, thread): its `type()` name.
    Other(&'static str),
}

impl View<'_> {
    /// The name `lua_typename` gives the value, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            View::Nil => "nil",
            View::Null => "userdata",
            View::Bool(_) => "boolean",
            View::Num(_) => "number",
            View::Str(_) => "string",
            View::Table => "table",
            View::Other(name) => name,
        }
    }
}

/// Read access to a graph of Lua values, as the C libraries read the Lua stack: the glue
/// implements it over the interpreter, the codecs' tests over small trees.
pub trait Source {
    /// A value (a table is a handle).
    type V: Clone;
    /// What kind of value `v` is.
    fn view<'a>(&self, v: &'a Self::V) -> View<'a>;
    /// `next(t, k)` (None starts), in the table's own order.
    fn next(&self, t: &Self::V, k: Option<&Self::V>) -> Option<(Self::V, Self::V)>;
    /// `rawget(t, i)`.
    fn index(&self, t: &Self::V, i: usize) -> Self::V;
}

#[cfg(test)]
mod tree {
    use super::{Source, View};
    use std::rc::Rc;

    /// A tiny value graph for the encoder: tables keep their entries in order.
    #[derive(Clone, Debug)]
    pub enum D {
        Nil,
        Null,
        B(bool),
        N(f64),
        S(&'static str),
        T(Rc<Vec<(D, D)>>),
        F,
    }

    pub struct Tree;

    fn same(a: &D, b: &D) -> bool {
        match (a, b) {
            (D::N(x), D::N(y)) => x == y,
            (D::S(x), D::S(y)) => x == y,
            (D::B(x), D::B(y)) => x == y,
            (D::T(x), D::T(y)) => Rc::ptr_eq(x, y),
            _ => false,
        }
    }

    impl Source for Tree {
        type V = D;
        fn view<'a>(&self, v: &'a D) -> View<'a> {
            match v {
                D::Nil => View::Nil,
                D::Null => View::Null,
                D::B(b) => View::Bool(*b),
                D::N(n) => View::Num(*n),
                D::S(s) => View::Str(s.as_bytes()),
                D::T(_) => View::Table,
                D::F => View::Other("function"),
            }
        }
        fn next(&self, t: &D, k: Option<&D>) -> Option<(D, D)> {
            let D::T(entries) = t else { return None };
            let i = match k {
                None => 0,
                Some(k) => entries.iter().position(|(x, _)| same(x, k))? + 1,
            };
            entries.get(i).cloned()
        }
        fn index(&self, t: &D, i: usize) -> D {
            let D::T(entries) = t else { return D::Nil };
            entries
                .iter()
                .find(|(k, _)| same(k, &D::N(i as f64)))
                .map_or(D::Nil, |(_, v)| v.clone())
        }
    }

    pub fn arr(items: Vec<D>) -> D {
        D::T(Rc::new(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (D::N(i as f64 + 1.0), v))
                .collect(),
        ))
    }

    pub fn obj(items: Vec<(D, D)>) -> D {
        D::T(Rc::new(items))
    }

    pub fn unnest(tree: D) {
        let mut cur = tree;
        while let D::T(rc) = cur {
            cur = Rc::try_unwrap(rc)
                .map(|mut v| v.pop().map_or(D::Nil, |(_, v)| v))
                .unwrap_or(D::Nil);
        }
    }
}
