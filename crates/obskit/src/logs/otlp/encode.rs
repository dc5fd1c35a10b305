//! `ExportLogsServiceRequest` encoding of captured records, written with
//! the shared wire primitives: one `ResourceLogs` with the resource
//! encoded once, a `ScopeLogs` per target (records of one target grouped,
//! in the order they came). A test decodes the output with
//! `opentelemetry-proto`'s generated types.

use opentelemetry_sdk::Resource;

use super::record::{AnyValue, Record, severity};
use crate::export::proto::{
    FIXED32, FIXED64, LEN, VARINT, bytes_field, fixed64_field, key, nested, opt_bytes_field,
    opt_varint_field, resource, varint,
};

/// Encodes batches of records for one resource.
#[derive(Debug, Default)]
pub(crate) struct LogsEncoder {
    resource: Vec<u8>,
    schema_url: String,
}

impl crate::export::Encode<Record> for LogsEncoder {
    fn set_resource(&mut self, r: &Resource) {
        self.resource = resource(r);
        self.schema_url = r.schema_url().unwrap_or_default().to_owned();
    }

    fn encode(&mut self, batch: &[Record]) -> Vec<u8> {
        // Targets in order of first appearance, each with its records.
        let mut scopes: Vec<(&str, Vec<u8>)> = Vec::new();
        let mut record_buf = Vec::new();
        for r in batch {
            record_buf.clear();
            record(&mut record_buf, r);
            let at = match scopes.iter().position(|(t, _)| *t == r.target) {
                Some(at) => at,
                None => {
                    let mut body = Vec::new();
                    let mut scope = Vec::new();
                    opt_bytes_field(&mut scope, 1, r.target.as_bytes());
                    nested(&mut body, 1, &scope);
                    scopes.push((r.target, body));
                    scopes.len() - 1
                }
            };
            nested(&mut scopes[at].1, 2, &record_buf);
        }
        let mut resource_logs = Vec::new();
        nested(&mut resource_logs, 1, &self.resource);
        for (_, scope_logs) in &scopes {
            nested(&mut resource_logs, 2, scope_logs);
        }
        opt_bytes_field(&mut resource_logs, 3, self.schema_url.as_bytes());
        let mut out = Vec::with_capacity(resource_logs.len() + 8);
        nested(&mut out, 1, &resource_logs);
        out
    }
}

/// A `LogRecord` message body.
fn record(out: &mut Vec<u8>, r: &Record) {
    fixed64_field(out, 1, r.time_unix_nano);
    let (number, text) = severity(r.level);
    opt_varint_field(out, 2, number);
    opt_bytes_field(out, 3, text.as_bytes());
    if let Some(body) = &r.body {
        let mut value = Vec::new();
        any_value(&mut value, &AnyValue::Str(body.clone()));
        nested(out, 5, &value);
    }
    attributes(out, 6, &r.attributes);
    if let Some((trace_id, span_id, flags)) = &r.trace {
        key(out, 8, FIXED32);
        out.extend_from_slice(&u32::from(*flags).to_le_bytes());
        bytes_field(out, 9, trace_id);
        bytes_field(out, 10, span_id);
    }
    fixed64_field(out, 11, r.time_unix_nano);
    if let Some(name) = r.event_name {
        opt_bytes_field(out, 12, name.as_bytes());
    }
}

/// A repeated `KeyValue` field.
fn attributes(out: &mut Vec<u8>, field: u32, kvs: &[(&str, AnyValue)]) {
    let mut kv = Vec::new();
    let mut value = Vec::new();
    for (k, v) in kvs {
        kv.clear();
        value.clear();
        bytes_field(&mut kv, 1, k.as_bytes());
        any_value(&mut value, v);
        nested(&mut kv, 2, &value);
        nested(out, field, &kv);
    }
}

/// An `AnyValue` message body.
fn any_value(out: &mut Vec<u8>, v: &AnyValue) {
    match v {
        AnyValue::Str(s) => bytes_field(out, 1, s.as_bytes()),
        AnyValue::Bool(b) => {
            key(out, 2, VARINT);
            out.push(u8::from(*b));
        }
        AnyValue::I64(i) => {
            key(out, 3, VARINT);
            varint(out, *i as u64);
        }
        AnyValue::F64(f) => {
            key(out, 4, FIXED64);
            out.extend_from_slice(&f.to_le_bytes());
        }
        AnyValue::Array(items) => {
            let mut array = Vec::new();
            let mut item = Vec::new();
            for v in items {
                item.clear();
                any_value(&mut item, v);
                nested(&mut array, 1, &item);
            }
            key(out, 5, LEN);
            varint(out, array.len() as u64);
            out.extend_from_slice(&array);
        }
        AnyValue::Map(kvs) => {
            let mut list = Vec::new();
            attributes(&mut list, 1, kvs);
            key(out, 6, LEN);
            varint(out, list.len() as u64);
            out.extend_from_slice(&list);
        }
    }
}

#[cfg(test)]
mod tests;
