//! Persistence: the dump format ([`dump`], with its checksum in [`crc64`]) and saving and
//! loading it safely ([`save`]).

pub mod crc64;
pub mod dump;
pub mod save;
