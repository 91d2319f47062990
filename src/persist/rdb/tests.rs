//! The object encoder and decoder, files, and payload validation.

use super::*;
use crate::store::stream::NodeLimits;
use crate::util::rand::Rng;

fn limits() -> Limits {
    Limits::default()
}

fn round_trip(v: &Value) -> Value {
    let opts = Options::default();
    let payload = dump_payload(v.as_ref(), &opts);
    restore_payload(&payload, b"", &limits()).expect("own payload restores")
}

fn list(items: &[&[u8]]) -> Value {
    Value::List(items.iter().map(|i| i.to_vec()).collect())
}

fn sample_values() -> Vec<Value> {
    let l = limits();
    let mut out = vec![
        Value::Str(b"hello".to_vec()),
        Value::Str(b"-123".to_vec()),
        Value::Str(b"4000000000".to_vec()),
        Value::Str(b"0123".to_vec()),
        Value::Str(b"xyz".repeat(50)),
        Value::Str(Vec::new()),
        list(&[b"a", b"1", b"-70000", b"9223372036854775807"]),
        Value::List(
            (0..5000)
                .map(|i| format!("item {i}").into_bytes())
                .collect(),
        ),
    ];
    let mut ints = Set::new();
    let mut strs = Set::new();
    let mut big = Set::new();
    for i in 0..10 {
        ints.insert(i.to_string().as_bytes(), &l);
        strs.insert(format!("m{i}").as_bytes(), &l);
    }
    for i in 0..1000 {
        big.insert(i.to_string().as_bytes(), &l);
    }
    out.extend([Value::Set(ints), Value::Set(strs), Value::Set(big)]);
    let mut small = Hash::new();
    let mut large = Hash::new();
    small.insert(b"f", b"1", &l);
    small.insert(b"g", b"text", &l);
    for i in 0..1000 {
        large.insert(format!("f{i}").as_bytes(), i.to_string().as_bytes(), &l);
    }
    out.extend([Value::Hash(small), Value::Hash(large)]);
    let mut zs = ZSet::new();
    let mut zl = ZSet::new();
    zs.insert(b"a", 1.0, &l);
    zs.insert(b"b", 2.5, &l);
    zs.insert(b"c", f64::NEG_INFINITY, &l);
    zs.insert(b"d", -0.0, &l);
    zs.insert(b"e", 1e300, &l);
    for i in 0..500 {
        zl.insert(format!("m{i}").as_bytes(), f64::from(i) / 3.0, &l);
    }
    out.extend([Value::ZSet(zs), Value::ZSet(zl)]);
    let mut s = Stream::new();
    for i in 1..=300u64 {
        let v = i.to_string();
        let pairs: Vec<&[u8]> = if i % 7 == 0 {
            vec![b"other", v.as_bytes()]
        } else {
            vec![b"f", v.as_bytes(), b"g", b"x"]
        };
        s.append(StreamId::new(i, 1), &pairs, NodeLimits::default());
        s.last_id = StreamId::new(i, 1);
        s.entries_added += 1;
    }
    s.delete(StreamId::new(5, 1));
    s.max_deleted_id = StreamId::new(5, 1);
    s.refresh_first_id();
    let mut g = Group::new(StreamId::new(10, 1), Some(9));
    for (i, who) in [(1u64, b"alice"), (2, b"bobby")] {
        let id = StreamId::new(i, 1);
        g.pel.insert(
            id,
            Nack {
                delivery_time: 1000 + i,
                delivery_count: i,
                consumer: who.to_vec(),
            },
        );
        g.consumers.entry(who.to_vec()).or_default().pel.insert(id);
    }
    g.consumers.entry(b"idle".to_vec()).or_default().seen_time = 77;
    s.groups.insert(b"g".to_vec(), g);
    s.groups
        .insert(b"h".to_vec(), Group::new(StreamId::MIN, None));
    out.push(Value::Stream(Box::new(s)));
    out
}

/// Compares collections by content (a set's order depends on its table).
fn canonical(v: &Value) -> String {
    match v {
        Value::Set(s) => {
            let mut m: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
            m.sort();
            format!("set {} {m:?}", s.encoding())
        }
        Value::Hash(h) => {
            let mut m: Vec<(Vec<u8>, Vec<u8>)> =
                h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
            m.sort();
            format!("hash {} {m:?}", h.encoding())
        }
        Value::ZSet(z) => {
            let m: Vec<(Vec<u8>, u64)> = z.iter().map(|(m, s)| (m.to_vec(), s.to_bits())).collect();
            format!("zset {} {m:?}", z.encoding())
        }
        Value::Stream(s) => {
            let mut entries = Vec::new();
            s.for_each(|e| entries.push(format!("{:?} {:?}", e.id, e.fields())));
            format!(
                "stream {} {:?} {:?} {:?} {} {entries:?} {:?}",
                s.len(),
                s.last_id,
                s.first_id,
                s.max_deleted_id,
                s.entries_added,
                s.groups
            )
        }
        other => format!("{other:?}"),
    }
}

#[test]
fn every_type_round_trips() {
    for v in sample_values() {
        assert_eq!(canonical(&round_trip(&v)), canonical(&v));
    }
}

#[test]
fn strings_use_redis_encodings() {
    let enc = |s: &[u8], z: bool| {
        let mut out = Vec::new();
        put_string(&mut out, s, z);
        out
    };
    assert_eq!(enc(b"12", true), vec![0xc0, 12]);
    assert_eq!(enc(b"-129", true), vec![0xc1, 0x7f, 0xff]);
    assert_eq!(enc(b"100000", true), vec![0xc2, 0xa0, 0x86, 0x01, 0x00]);
    // Past 32 bits, or not canonical: raw.
    assert_eq!(enc(b"4294967296", true)[0], 10);
    assert_eq!(enc(b"012", true), vec![3, b'0', b'1', b'2']);
    // Compressible and longer than 20: LZF, unless compression is off.
    let long = b"a".repeat(100);
    assert_eq!(enc(&long, true)[0], 0xc3);
    assert_eq!(enc(&long, false)[..2], [0x40, 100]);
}

#[test]
fn scores_print_as_d2string() {
    assert_eq!(score_string(1.0), b"1");
    assert_eq!(score_string(-0.0), b"-0");
    assert_eq!(score_string(2.5), b"2.5");
    assert_eq!(score_string(f64::INFINITY), b"inf");
    assert_eq!(score_string(0.1), b"0.10000000000000001");
    assert_eq!(score_string(1e20), b"1e+20");
}

impl Node<'_> {
    /// How many elements the node holds.
    fn len(&self) -> usize {
        match self {
            Node::Packed(lp) => lp.len(),
            Node::Plain(_) => 1,
        }
    }
}

#[test]
fn list_nodes_split_as_quicklist_does() {
    // list-max-listpack-size 3: nodes of three elements.
    let l: crate::store::List = (0..7).map(|i| vec![b'a' + i]).collect();
    let nodes = list_nodes(&l, 3);
    assert_eq!(
        nodes.iter().map(|n| n.len()).collect::<Vec<_>>(),
        vec![3, 3, 1]
    );
    // -2: 8 KiB nodes. A 100-byte element takes 103 bytes of listpack; one more fits
    // while 7 + 103 n + 100 + 8 <= 8192, so 79 per node.
    let l: crate::store::List = (0..200).map(|_| vec![b'x'; 100]).collect();
    let nodes = list_nodes(&l, -2);
    assert_eq!(
        nodes.iter().map(|n| n.len()).collect::<Vec<_>>(),
        vec![79, 79, 42]
    );
}

#[test]
fn old_encodings_load() {
    let l = limits();
    // RDB_TYPE_LIST, RDB_TYPE_ZSET (text scores), RDB_TYPE_HASH_ZIPMAP, the ziplist
    // types: built by hand as Redis 2.x to 6.x wrote them.
    let mut zl = vec![0; 10];
    zl.extend_from_slice(&[0, 0x01, b'a']);
    let tail = zl.len();
    zl.extend_from_slice(&[3, 0xf3]); // Immediate 2.
    zl.push(0xff);
    let n = zl.len() as u32;
    zl[0..4].copy_from_slice(&n.to_le_bytes());
    zl[4..8].copy_from_slice(&(tail as u32).to_le_bytes());
    zl[8..10].copy_from_slice(&2u16.to_le_bytes());
    let with = |t: u8, body: &[u8]| {
        let mut p = vec![t];
        p.extend_from_slice(body);
        p
    };
    let mut zl_str = Vec::new();
    put_string(&mut zl_str, &zl, false);
    let cases: Vec<(Vec<u8>, Value)> = vec![
        (with(TYPE_LIST, &[2, 1, b'x', 0xc0, 5]), list(&[b"x", b"5"])),
        (with(TYPE_LIST_ZIPLIST, &zl_str), list(&[b"a", b"2"])),
        (
            with(TYPE_LIST_QUICKLIST, &[&[1u8][..], &zl_str].concat()),
            list(&[b"a", b"2"]),
        ),
        (with(TYPE_HASH_ZIPLIST, &zl_str), {
            let mut h = Hash::new();
            h.insert(b"a", b"2", &l);
            Value::Hash(h)
        }),
        (with(TYPE_ZSET_ZIPLIST, &zl_str), {
            let mut z = ZSet::new();
            z.insert(b"a", 2.0, &l);
            Value::ZSet(z)
        }),
        (
            with(TYPE_ZSET, &[2, 1, b'a', 3, b'1', b'.', b'5', 1, b'b', 254]),
            {
                let mut z = ZSet::new();
                z.insert(b"a", 1.5, &l);
                z.insert(b"b", f64::INFINITY, &l);
                Value::ZSet(z)
            },
        ),
        (
            with(TYPE_HASH_ZIPMAP, &[8, 1, 1, b'k', 2, 0, b'v', b'w', 0xff]),
            {
                let mut h = Hash::new();
                h.insert(b"k", b"vw", &l);
                Value::Hash(h)
            },
        ),
    ];
    for (body, expected) in cases {
        let mut payload = body.clone();
        payload.extend_from_slice(&RDB_VERSION.to_le_bytes());
        let crc = crc64(0, &payload);
        payload.extend_from_slice(&crc.to_le_bytes());
        let got = restore_payload(&payload, b"", &l).unwrap_or_else(|e| panic!("{body:?}: {e:?}"));
        assert_eq!(canonical(&got), canonical(&expected), "{body:?}");
    }
}

#[test]
fn payload_footer_checks() {
    let good = dump_payload(ValueRef::Str(b"v"), &Options::default());
    assert!(restore_payload(&good, b"", &limits()).is_ok());
    assert_eq!(
        restore_payload(&good[..9], b"", &limits()),
        Err(PayloadError::VersionOrChecksum)
    );
    let mut newer = good.clone();
    let n = newer.len();
    newer[n - 10] = 11;
    assert_eq!(
        restore_payload(&newer, b"", &limits()),
        Err(PayloadError::VersionOrChecksum)
    );
    let mut crc = good.clone();
    crc[n - 1] ^= 0x40;
    assert_eq!(
        restore_payload(&crc, b"", &limits()),
        Err(PayloadError::VersionOrChecksum)
    );
    // An older version is fine.
    let mut older = good[..n - 10].to_vec();
    older.extend_from_slice(&9u16.to_le_bytes());
    let c = crc64(0, &older);
    older.extend_from_slice(&c.to_le_bytes());
    assert!(restore_payload(&older, b"", &limits()).is_ok());
}

fn file(
    entries: &[(u32, &[u8], Value, Option<u64>)],
    functions: &[&[u8]],
    opts: Options,
) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), opts, Aux::default()).unwrap();
    for f in functions {
        w.function(f).unwrap();
    }
    let mut db = None;
    for (d, k, v, e) in entries {
        if db != Some(*d) {
            w.begin_db(*d, 1, 0).unwrap();
            db = Some(*d);
        }
        w.entry(k, v.as_ref(), *e, None).unwrap();
    }
    w.finish().unwrap()
}

type Loaded = Vec<(u64, Vec<u8>, String, Option<u64>, Saved)>;

fn load(data: &[u8], now: u64) -> Result<(Loaded, LoadStats)> {
    let mut got = Vec::new();
    let stats = read(data, now, &limits(), |db, k, v, e, _, saved| {
        got.push((db, k.to_vec(), canonical(&v), e, saved))
    })?;
    Ok((got, stats))
}

#[test]
fn files_round_trip() {
    let values = sample_values();
    let entries: Vec<(u32, &[u8], Value, Option<u64>)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let db = if i % 3 == 0 { 0 } else { 5 };
            let e = (i % 2 == 0).then_some(5000 + i as u64);
            (db, &b"key"[..], v.clone(), e)
        })
        .collect();
    let mut sorted = entries.clone();
    sorted.sort_by_key(|e| e.0);
    for opts in [
        Options::default(),
        Options {
            compression: false,
            checksum: false,
            list_fill: 5,
            clocks: None,
        },
    ] {
        let data = file(&sorted, &[b"#!lua name=x\nreturn 1"], opts);
        assert!(data.starts_with(b"REDIS0010"));
        let (got, stats) = load(&data, 0).unwrap();
        assert_eq!(stats.functions, vec![b"#!lua name=x\nreturn 1".to_vec()]);
        let want: Loaded = sorted
            .iter()
            .map(|(d, k, v, e)| {
                (
                    u64::from(*d),
                    k.to_vec(),
                    canonical(v),
                    *e,
                    Saved::default(),
                )
            })
            .collect();
        assert_eq!(got, want);
        // Expired keys are skipped and counted.
        let (got, stats) = load(&data, 5003).unwrap();
        assert_eq!(stats.keys_expired, 2);
        assert_eq!(got.len(), want.len() - 2);
    }
}

#[test]
fn file_damage_is_an_error_never_a_panic() {
    let values = sample_values();
    // The small values only: every cut is parsed from the start (quadratic).
    let entries: Vec<(u32, &[u8], Value, Option<u64>)> = values
        .iter()
        .filter(|v| dump_payload(v.as_ref(), &Options::default()).len() < 200)
        .map(|v| (0, &b"k"[..], v.clone(), None))
        .collect();
    assert!(entries.len() >= 8);
    let data = file(&entries, &[], Options::default());
    assert!(load(&data, 0).is_ok());
    for cut in 0..data.len() {
        assert!(load(&data[..cut], 0).is_err(), "cut at {cut}");
    }
    let mut rng = Rng::new(42);
    for _ in 0..3000 {
        let mut bad = data.clone();
        let i = rng.below(bad.len() as u64) as usize;
        bad[i] = rng.next_u64() as u8;
        // With the CRC wrong the file is refused; the parse before it must not panic.
        let _ = load(&bad, 0);
    }
    let mut crc = data.clone();
    let n = crc.len();
    crc[n - 2] ^= 1;
    assert!(matches!(
        load(&crc, 0).unwrap_err().kind(),
        RdbErrorKind::Checksum { .. }
    ));
    let mut version = data.clone();
    version[5..9].copy_from_slice(b"0011");
    assert!(load(&version, 0)
        .unwrap_err()
        .to_string()
        .contains("Can't handle RDB format version 0011"));
}

/// A file past [`PARALLEL_CRC_MIN`] is summed on a second thread while it is parsed:
/// the same keys, and a damaged body or checksum is still refused.
#[test]
fn big_files_are_summed_alongside_the_parse() {
    let value = Value::Str(vec![b'v'; 1000]);
    let keys: Vec<Vec<u8>> = (0..1200).map(|i| format!("key:{i}").into_bytes()).collect();
    let entries: Vec<(u32, &[u8], Value, Option<u64>)> = keys
        .iter()
        .map(|k| (0, k.as_slice(), value.clone(), None))
        .collect();
    let plain = Options {
        compression: false,
        ..Options::default()
    };
    let data = file(&entries, &[], plain);
    assert!(data.len() > PARALLEL_CRC_MIN);
    let (got, _) = load(&data, 0).unwrap();
    assert_eq!(got.len(), keys.len());
    let n = data.len();
    // The checksum itself, and bytes of values (a body that still parses).
    let mid = n / 2 + data[n / 2..].iter().position(|&b| b == b'v').unwrap();
    for at in [n - 1, n - 8, n - 20, mid] {
        let mut bad = data.clone();
        bad[at] ^= 0x20;
        let e = load(&bad, 0).unwrap_err();
        assert!(
            matches!(e.kind(), RdbErrorKind::Checksum { .. }),
            "byte {at}: {e}"
        );
    }
    // Without a checksum (rdbchecksum no) nothing is compared.
    let unsummed = file(
        &entries,
        &[],
        Options {
            checksum: false,
            ..plain
        },
    );
    assert_eq!(load(&unsummed, 0).unwrap().0.len(), keys.len());
    // A prefix read sums only its RDB.
    let mut followed = data.clone();
    followed.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    let (_, end) = read_prefix(&followed, 0, &limits(), |_, _, _, _, _, _| {}).unwrap();
    assert_eq!(end, n);
}

#[test]
fn module_data_is_refused_clearly() {
    let mut data = b"REDIS0010".to_vec();
    data.extend_from_slice(&[OP_SELECTDB, 0, TYPE_MODULE_2, 1, b'k', 0, 0]);
    let e = load(&data, 0).unwrap_err();
    assert!(e.to_string().contains("module"), "{e}");
}

#[test]
fn seconds_expiry_idle_and_freq_are_read() {
    let mut data = b"REDIS0009".to_vec();
    data.push(OP_AUX);
    put_string(&mut data, b"redis-ver", false);
    put_string(&mut data, b"6.0.0", false);
    data.extend_from_slice(&[OP_SELECTDB, 3, OP_RESIZEDB, 2, 1]);
    data.push(OP_EXPIRETIME);
    data.extend_from_slice(&2_000_000_000u32.to_le_bytes());
    data.extend_from_slice(&[OP_IDLE, 5, TYPE_STRING, 1, b'a', 1, b'x']);
    data.extend_from_slice(&[OP_FREQ, 9, TYPE_STRING, 1, b'b', 1, b'y']);
    data.push(OP_EOF);
    let crc = crc64(0, &data);
    data.extend_from_slice(&crc.to_le_bytes());
    let (got, _) = load(&data, 0).unwrap();
    assert_eq!(got[0].0, 3);
    assert_eq!(got[0].3, Some(2_000_000_000_000));
    assert_eq!(got[1].3, None);
    // The idle time and the counter are read for the key they precede.
    assert_eq!((got[0].4.idle_secs, got[0].4.freq), (Some(5), None));
    assert_eq!((got[1].4.idle_secs, got[1].4.freq), (None, Some(9)));
    // Version 4 files have no checksum.
    let mut old = b"REDIS0004".to_vec();
    old.extend_from_slice(&[OP_SELECTDB, 0, TYPE_STRING, 1, b'a', 1, b'x', OP_EOF]);
    assert_eq!(load(&old, 0).unwrap().0.len(), 1);
}

/// Random mutations of valid payloads, CRC recomputed so the parser sees them: an error
/// or a value, never a panic.
#[test]
fn mutated_payloads_never_panic() {
    let opts = Options {
        compression: true,
        checksum: true,
        list_fill: 4,
        clocks: None,
    };
    let payloads: Vec<Vec<u8>> = sample_values()
        .iter()
        .map(|v| dump_payload(v.as_ref(), &opts))
        .filter(|p| p.len() < 20_000)
        .collect();
    let mut rng = Rng::new(7);
    let mut accepted = 0;
    for round in 0..20_000 {
        let base = &payloads[round % payloads.len()];
        let mut body = base[..base.len() - 10].to_vec();
        for _ in 0..1 + rng.below(3) {
            if body.is_empty() {
                break;
            }
            let i = rng.below(body.len() as u64) as usize;
            match rng.below(4) {
                0 => body[i] = rng.next_u64() as u8,
                1 => body[i] ^= 1 << rng.below(8),
                2 => body.truncate(i),
                _ => {
                    let b = rng.next_u64() as u8;
                    body.insert(i, b);
                }
            }
        }
        body.extend_from_slice(&RDB_VERSION.to_le_bytes());
        let crc = crc64(0, &body);
        body.extend_from_slice(&crc.to_le_bytes());
        if restore_payload(&body, b"", &limits()).is_ok() {
            accepted += 1;
        }
    }
    // Some mutations (a changed string byte) are still valid: the parser got past the
    // footer check on real content.
    assert!(accepted > 0);
}

#[test]
fn length_bytes_and_compressed_strings_match_the_plain_encoders() {
    for n in [
        0u64,
        1,
        63,
        64,
        16383,
        16384,
        u64::from(u32::MAX),
        u64::from(u32::MAX) + 1,
    ] {
        let mut want = Vec::new();
        put_len(&mut want, n);
        let mut got = [0u8; 9];
        let size = super::len_bytes(n, &mut got);
        assert_eq!(&got[..size], &want[..], "{n}");
    }
    let mut rng = crate::util::rand::Rng::new(5);
    for len in [21usize, 40, 100, 300, 20000] {
        // Mostly one byte, a random one every fiftieth: compressible at every length.
        let text: Vec<u8> = (0..len)
            .map(|i| {
                if i % 50 == 25 {
                    b'a' + rng.below(3) as u8
                } else {
                    b'x'
                }
            })
            .collect();
        let c = lzf::compress(&text, len - 4).expect("compressible");
        let mut want = b"before".to_vec();
        want.push(0xc3);
        put_len(&mut want, c.len() as u64);
        put_len(&mut want, len as u64);
        want.extend_from_slice(&c);
        let mut got = b"before".to_vec();
        put_string(&mut got, &text, true);
        assert_eq!(got, want, "{len}");
    }
    // Incompressible: raw, and nothing of the attempt is left behind.
    let noise = rng.bytes(50);
    let mut got = b"x".to_vec();
    put_string(&mut got, &noise, true);
    assert_eq!((got[1], &got[2..]), (50, &noise[..]));
}
