//! Protobuf wire primitives every OTLP encoder writes with: varints,
//! keys, length-delimited fields, and the common messages (`AnyValue`,
//! `KeyValue`, `Resource`), each with the function that counts its length
//! first, so a message is written once, in place, behind its length.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_sdk::Resource;

pub(crate) const VARINT: u32 = 0;
pub(crate) const FIXED64: u32 = 1;
pub(crate) const LEN: u32 = 2;
pub(crate) const FIXED32: u32 = 5;

pub(crate) fn key(out: &mut Vec<u8>, field: u32, wire: u32) {
    let tag = (field << 3) | wire;
    if tag < 0x80 {
        // Every field number below 16: one byte.
        out.push(tag as u8);
    } else {
        varint(out, u64::from(tag));
    }
}

pub(crate) fn varint(out: &mut Vec<u8>, mut v: u64) {
    if v < 0x80 {
        out.push(v as u8);
        return;
    }
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn varint_len(v: u64) -> usize {
    if v < 0x80 {
        return 1;
    }
    // 1 byte per 7 bits.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

pub(crate) fn key_len(field: u32) -> usize {
    varint_len(u64::from(field << 3))
}

pub(crate) fn bytes_field(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    let tag = (field << 3) | LEN;
    if tag < 0x80 && b.len() < 0x80 {
        // The common case, a short string of a low field: its two header
        // bytes at once.
        out.extend_from_slice(&[tag as u8, b.len() as u8]);
    } else {
        key(out, field, LEN);
        varint(out, b.len() as u64);
    }
    out.extend_from_slice(b);
}

/// A string or bytes field, skipped when empty (proto3 default).
pub(crate) fn opt_bytes_field(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    if !b.is_empty() {
        bytes_field(out, field, b);
    }
}

pub(crate) fn len_delimited_len(field: u32, body: usize) -> usize {
    key_len(field) + varint_len(body as u64) + body
}

pub(crate) fn opt_varint_field(out: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        key(out, field, VARINT);
        varint(out, v);
    }
}

pub(crate) fn fixed64_field(out: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        key(out, field, FIXED64);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

pub(crate) fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

// ---------------------------------------------------------------- values

pub(crate) fn any_value_len(v: &Value) -> usize {
    match v {
        Value::Bool(_) => 2,
        Value::I64(i) => 1 + varint_len(*i as u64),
        Value::F64(_) => 9,
        Value::String(s) => len_delimited_len(1, s.as_str().len()),
        Value::Array(a) => len_delimited_len(5, array_len(a)),
        _ => 0,
    }
}

pub(crate) fn array_len(a: &Array) -> usize {
    fn sum<T>(items: &[T], each: impl Fn(&T) -> usize) -> usize {
        items.iter().map(|i| len_delimited_len(1, each(i))).sum()
    }
    match a {
        Array::Bool(v) => sum(v, |_| 2),
        Array::I64(v) => sum(v, |i| 1 + varint_len(*i as u64)),
        Array::F64(v) => sum(v, |_| 9),
        Array::String(v) => sum(v, |s| len_delimited_len(1, s.as_str().len())),
        _ => 0,
    }
}

pub(crate) fn any_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Bool(b) => {
            key(out, 2, VARINT);
            out.push(u8::from(*b));
        }
        Value::I64(i) => {
            key(out, 3, VARINT);
            varint(out, *i as u64);
        }
        Value::F64(f) => {
            key(out, 4, FIXED64);
            out.extend_from_slice(&f.to_le_bytes());
        }
        Value::String(s) => bytes_field(out, 1, s.as_str().as_bytes()),
        Value::Array(a) => {
            key(out, 5, LEN);
            varint(out, array_len(a) as u64);
            let item = |out: &mut Vec<u8>, v: Value| {
                key(out, 1, LEN);
                varint(out, any_value_len(&v) as u64);
                any_value(out, &v);
            };
            match a {
                Array::Bool(v) => v.iter().for_each(|x| item(out, Value::Bool(*x))),
                Array::I64(v) => v.iter().for_each(|x| item(out, Value::I64(*x))),
                Array::F64(v) => v.iter().for_each(|x| item(out, Value::F64(*x))),
                Array::String(v) => v.iter().for_each(|x| item(out, Value::String(x.clone()))),
                _ => {}
            }
        }
        _ => {}
    }
}

pub(crate) fn key_value_len(kv: &KeyValue) -> usize {
    len_delimited_len(1, kv.key.as_str().len()) + len_delimited_len(2, any_value_len(&kv.value))
}

/// The head of a short `KeyValue` (its tag and length below 128) and its
/// key: the message's tag and length, then the key's tag, length and bytes.
#[inline]
fn short_key(out: &mut Vec<u8>, tag: u32, len: usize, k: &[u8]) {
    out.extend_from_slice(&[tag as u8, len as u8, 1 << 3 | LEN as u8, k.len() as u8]);
    out.extend_from_slice(k);
}

/// A repeated `KeyValue` field. Each value's length is counted once and
/// used for both enclosing lengths.
pub(crate) fn attributes(out: &mut Vec<u8>, field: u32, kvs: &[KeyValue]) {
    let tag = (field << 3) | LEN;
    for kv in kvs {
        let k = kv.key.as_str().as_bytes();
        // The common case, a short key with a short string value: every
        // header byte is one byte, written four at a time.
        if let Value::String(v) = &kv.value {
            let v = v.as_str().as_bytes();
            let value_len = 2 + v.len();
            let len = 2 + k.len() + 2 + value_len;
            if tag < 0x80 && len < 0x80 {
                short_key(out, tag, len, k);
                out.extend_from_slice(&[
                    2 << 3 | LEN as u8,
                    value_len as u8,
                    1 << 3 | LEN as u8,
                    v.len() as u8,
                ]);
                out.extend_from_slice(v);
                continue;
            }
        }
        // An integer (a status code, a port): the same, with its varint.
        if let Value::I64(i) = &kv.value {
            let value_len = 1 + varint_len(*i as u64);
            let len = 2 + k.len() + 2 + value_len;
            if tag < 0x80 && len < 0x80 {
                short_key(out, tag, len, k);
                out.extend_from_slice(&[
                    2 << 3 | LEN as u8,
                    value_len as u8,
                    3 << 3 | VARINT as u8,
                ]);
                varint(out, *i as u64);
                continue;
            }
        }
        let value_len = any_value_len(&kv.value);
        let len = len_delimited_len(1, k.len()) + len_delimited_len(2, value_len);
        key(out, field, LEN);
        varint(out, len as u64);
        // proto3 writes an empty key too when set; the SDK never sends one.
        bytes_field(out, 1, k);
        key(out, 2, LEN);
        varint(out, value_len as u64);
        any_value(out, &kv.value);
    }
}

// ---------------------------------------------------------------- messages

pub(crate) fn nested(out: &mut Vec<u8>, field: u32, body: &[u8]) {
    key(out, field, LEN);
    varint(out, body.len() as u64);
    out.extend_from_slice(body);
}

/// Encodes the `Resource` message body once per exporter.
pub(crate) fn resource(resource: &Resource) -> Vec<u8> {
    let mut kvs: Vec<KeyValue> = resource
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect();
    kvs.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
    let mut out = Vec::new();
    attributes(&mut out, 1, &kvs);
    out
}

/// The length of an optional string or bytes field (nothing when empty).
pub(crate) fn opt_bytes_len(field: u32, len: usize) -> usize {
    if len == 0 {
        0
    } else {
        len_delimited_len(field, len)
    }
}

pub(crate) fn opt_varint_len(field: u32, v: u64) -> usize {
    if v == 0 {
        0
    } else {
        key_len(field) + varint_len(v)
    }
}

pub(crate) fn fixed64_len(field: u32, v: u64) -> usize {
    if v == 0 { 0 } else { key_len(field) + 8 }
}

pub(crate) fn attributes_len(field: u32, kvs: &[KeyValue]) -> usize {
    kvs.iter()
        .map(|kv| len_delimited_len(field, key_value_len(kv)))
        .sum()
}

// ------------------------------------------------------ pre-encoded keys

/// Defines the constant `NAME`: the `key` field of a `KeyValue` message
/// (field 1, its length, the key's bytes) for a key known when obskit is
/// built, prepared once. Its size is part of its type, so writing it
/// copies a fixed number of bytes. For example (the macro is the crate's
/// own, so this is not run as a doc test):
///
/// ```text
/// pre_key!(METHOD = "http.request.method");
/// ```
macro_rules! pre_key {
    ($name:ident = $key:expr) => {
        const $name: &[u8; $key.len() + 2] = &{
            const KEY: &[u8] = $key.as_bytes();
            assert!(
                KEY.len() < 0x80,
                "a pre-encoded key is shorter than 128 bytes"
            );
            let mut b = [0_u8; $key.len() + 2];
            b[0] = (1 << 3) | 2;
            b[1] = KEY.len() as u8;
            let mut i = 0;
            while i < KEY.len() {
                b[i + 2] = KEY[i];
                i += 1;
            }
            b
        };
    };
}
pub(crate) use pre_key;

/// A `KeyValue` with a string value in the repeated field `field`, its key
/// pre-encoded ([`pre_key!`]).
#[inline]
pub(crate) fn pre_kv_str<const N: usize>(out: &mut Vec<u8>, field: u32, pre: &[u8; N], v: &[u8]) {
    let any = 1 + varint_len(v.len() as u64) + v.len();
    let len = N + 1 + varint_len(any as u64) + any;
    let tag = (field << 3) | LEN;
    if tag < 0x80 && len < 0x80 {
        out.reserve(2 + len);
        out.extend_from_slice(&[tag as u8, len as u8]);
        out.extend_from_slice(pre);
        out.extend_from_slice(&[
            2 << 3 | LEN as u8,
            any as u8,
            1 << 3 | LEN as u8,
            v.len() as u8,
        ]);
    } else {
        key_field(out, field, len);
        out.extend_from_slice(pre);
        key(out, 2, LEN);
        varint(out, any as u64);
        key(out, 1, LEN);
        varint(out, v.len() as u64);
    }
    out.extend_from_slice(v);
}

/// A `KeyValue` with an integer value in the repeated field `field`, its
/// key pre-encoded ([`pre_key!`]).
#[inline]
pub(crate) fn pre_kv_i64<const N: usize>(out: &mut Vec<u8>, field: u32, pre: &[u8; N], v: i64) {
    let any = 1 + varint_len(v as u64);
    let len = N + 2 + any;
    key_field(out, field, len);
    out.extend_from_slice(pre);
    out.extend_from_slice(&[2 << 3 | LEN as u8, any as u8, 3 << 3 | VARINT as u8]);
    varint(out, v as u64);
}

/// The key and length of a length-delimited field.
fn key_field(out: &mut Vec<u8>, field: u32, len: usize) {
    key(out, field, LEN);
    varint(out, len as u64);
}

#[cfg(test)]
mod tests {
    use opentelemetry::KeyValue;

    use super::*;

    /// A pre-encoded key writes what the generic `KeyValue` encoding writes.
    #[test]
    fn pre_encoded_keys_write_what_the_generic_encoding_writes() {
        pre_key!(SHORT = "url.path");
        pre_key!(
            LONG = "http.request.header.a-header-with-a-long-name-to-pass-one-hundred-bytes-of-key-value"
        );
        let values = ["", "/users/42", &"x".repeat(200)];
        let check = |key_text: &'static str,
                     str_kv: &dyn Fn(&mut Vec<u8>, &[u8]),
                     int_kv: &dyn Fn(&mut Vec<u8>, i64)| {
            for v in values {
                let mut ours = Vec::new();
                str_kv(&mut ours, v.as_bytes());
                let mut generic = Vec::new();
                attributes(&mut generic, 9, &[KeyValue::new(key_text, v.to_owned())]);
                assert_eq!(ours, generic, "{key_text} = {v:?}");
            }
            for v in [0_i64, 1, 443, 65_535, -1, i64::MAX] {
                let mut ours = Vec::new();
                int_kv(&mut ours, v);
                let mut generic = Vec::new();
                attributes(&mut generic, 9, &[KeyValue::new(key_text, v)]);
                assert_eq!(ours, generic, "{key_text} = {v}");
            }
        };
        check(
            "url.path",
            &|out, v| pre_kv_str(out, 9, SHORT, v),
            &|out, v| pre_kv_i64(out, 9, SHORT, v),
        );
        check(
            "http.request.header.a-header-with-a-long-name-to-pass-one-hundred-bytes-of-key-value",
            &|out, v| pre_kv_str(out, 9, LONG, v),
            &|out, v| pre_kv_i64(out, 9, LONG, v),
        );
    }
}
