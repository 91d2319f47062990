//! Persistence: the dump format ([`dump`], with its checksum in [`crc64`]) and saving and
//! loading it safely ([`save`]), and the append-only file ([`aof`]).

pub mod aof;
pub mod crc64;
pub mod dump;
pub mod save;
