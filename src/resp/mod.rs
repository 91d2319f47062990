//! The Redis protocol: requests in ([`parse`]) and replies out ([`reply`]).

pub mod parse;
pub mod reply;

pub use parse::{Args, Parser, ProtocolError};
pub use reply::Reply;
