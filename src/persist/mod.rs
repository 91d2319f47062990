//! Persistence: the dump format ([`dump`], with its checksum in [`crc64`]), Redis's RDB
//! format ([`rdb`]), saving and loading them safely ([`save`]), and the append-only file
//! ([`aof`]).

pub mod aof;
pub mod crc64;
pub mod dump;
pub mod rdb;
pub mod save;
