//! A light span's fields, written as JSON when a line first lists them.
//!
//! Most spans log nothing, so numbers and booleans are kept as they came
//! and written only when a line inside the span needs the span's fields;
//! text and `Debug` values are written at once (a `Debug` value may be
//! borrowed only while it is recorded), after the numbers before them. The
//! JSON is what [`append_fields`](crate::logs::fields::append_fields)
//! writes for the same fields, byte for byte: the same writer writes both.

use std::fmt;

use tracing::field::{Field, Visit};

use crate::logs::fields::{JsonFields, SPAN_FIELDS_CAPACITY};

/// A span's fields: JSON written so far, then the values still to write.
#[derive(Default)]
pub(super) struct Fields {
    /// `"k":v,"k2":v2`.
    json: String,
    /// Values recorded after `json`, in order.
    pending: Vec<(Field, Number)>,
}

/// A value kept as it came.
#[derive(Clone, Copy)]
enum Number {
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    Bool(bool),
    F64(f64),
}

impl Fields {
    /// No fields, no buffers.
    pub(super) const fn new() -> Self {
        Self {
            json: String::new(),
            pending: Vec::new(),
        }
    }

    /// The fields as JSON, the pending values written first.
    pub(super) fn json(&mut self) -> &str {
        self.flush();
        &self.json
    }

    /// Takes the fields, as JSON.
    pub(super) fn take_json(&mut self) -> String {
        self.flush();
        std::mem::take(&mut self.json)
    }

    /// Whether no field was recorded.
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.json.is_empty() && self.pending.is_empty()
    }

    /// Moves `other`'s fields after these.
    pub(super) fn append(&mut self, other: &mut Fields) {
        if !other.json.is_empty() {
            self.flush();
            if !self.json.is_empty() {
                self.json.push(',');
            }
            self.json.push_str(&other.json);
            other.json.clear();
        }
        self.pending.append(&mut other.pending);
    }

    /// Takes `other`'s fields into these, which are empty, leaving these
    /// buffers to `other` (a buffer holding nothing stays where it is).
    pub(super) fn take_from(&mut self, other: &mut Fields) {
        if !other.json.is_empty() {
            std::mem::swap(&mut self.json, &mut other.json);
        }
        if !other.pending.is_empty() {
            std::mem::swap(&mut self.pending, &mut other.pending);
        }
    }

    /// Empties the fields, keeping their buffers unless one grew huge.
    #[inline]
    pub(super) fn clear(&mut self) {
        if self.json.capacity() > 1024 {
            self.json = String::new();
        } else {
            self.json.clear();
        }
        if self.pending.capacity() > 64 {
            self.pending = Vec::new();
        } else {
            self.pending.clear();
        }
    }

    /// A visitor recording fields into these.
    pub(super) fn recorder(&mut self) -> Recorder<'_> {
        Recorder(self)
    }

    /// Writes the pending values after the JSON.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut json = writer(&mut self.json);
        for (field, value) in &self.pending {
            match *value {
                Number::I64(v) => json.record_i64(field, v),
                Number::U64(v) => json.record_u64(field, v),
                Number::I128(v) => json.record_i128(field, v),
                Number::U128(v) => json.record_u128(field, v),
                Number::Bool(v) => json.record_bool(field, v),
                Number::F64(v) => json.record_f64(field, v),
            }
        }
        self.pending.clear();
    }

    fn keep(&mut self, field: &Field, value: Number) {
        self.pending.push((field.clone(), value));
    }

    /// The writer for a value written at once, the pending ones first.
    fn now(&mut self) -> JsonFields<'_> {
        self.flush();
        writer(&mut self.json)
    }
}

/// The JSON writer appending to `json`, after a comma once it holds some.
fn writer(json: &mut String) -> JsonFields<'_> {
    if json.capacity() == 0 {
        json.reserve(SPAN_FIELDS_CAPACITY);
    }
    let any = !json.is_empty();
    JsonFields {
        out: json,
        any,
        skip_message: false,
    }
}

/// Records a span's fields into [`Fields`].
pub(super) struct Recorder<'a>(&'a mut Fields);

impl Visit for Recorder<'_> {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.keep(field, Number::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.keep(field, Number::U64(value));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.0.keep(field, Number::I128(value));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.0.keep(field, Number::U128(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.keep(field, Number::Bool(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.keep(field, Number::F64(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.now().record_str(field, value);
    }
    fn record_bytes(&mut self, field: &Field, value: &[u8]) {
        self.0.now().record_bytes(field, value);
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.now().record_error(field, value);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.now().record_debug(field, value);
    }
}

#[cfg(test)]
mod tests {
    use tracing::field::{Empty, Visit as _};

    use super::*;
    use crate::logs::fields::append_fields;

    #[derive(Debug)]
    struct Failure;

    impl fmt::Display for Failure {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("it \"failed\"")
        }
    }

    impl std::error::Error for Failure {}

    /// The fields of the span `make` makes.
    fn fields_of(make: impl FnOnce() -> tracing::Span) -> Vec<Field> {
        let registry = tracing_subscriber::registry();
        let span = tracing::subscriber::with_default(registry, make);
        span.metadata().expect("enabled").fields().iter().collect()
    }

    /// Records the same values through `Fields` (in two parts) and through
    /// `append_fields`, and returns both JSON texts.
    fn both(record: impl Fn(&mut dyn Visit, &[Field])) -> (String, String) {
        let fields = fields_of(|| {
            tracing::info_span!(
                "s",
                a = Empty,
                b = Empty,
                c = Empty,
                d = Empty,
                e = Empty,
                f = Empty,
                g = Empty,
                h = Empty,
                level = Empty,
                i = Empty
            )
        });
        let mut expected = String::new();
        append_fields(&mut expected, |json| record(json, &fields[..5]));
        append_fields(&mut expected, |json| record(json, &fields[5..]));

        let mut kept = Fields::default();
        record(&mut kept.recorder(), &fields[..5]);
        let mut later = Fields::default();
        record(&mut later.recorder(), &fields[5..]);
        kept.append(&mut later);
        (kept.take_json(), expected)
    }

    #[test]
    fn fields_kept_as_values_write_what_the_json_writer_writes() {
        let (kept, expected) = both(|v, f| {
            v.record_u64(&f[0], u64::MAX);
            v.record_i64(&f[1], -7);
            v.record_str(&f[2], "a \"quoted\"\nline");
            v.record_bool(&f[3], true);
            v.record_f64(&f[4], 1.5);
            v.record_f64(&f[0], f64::NAN);
            v.record_i128(&f[1], i128::MIN);
            v.record_u128(&f[2], u128::MAX);
            v.record_debug(&f[3], &Some("x"));
            v.record_error(&f[4], &Failure);
            v.record_bytes(&f[0], b"\x01\xff");
            v.record_bool(&f[1], false);
        });
        assert_eq!(kept, expected);
        assert!(kept.starts_with("\"a\":18446744073709551615,\"b\":-7,\"c\":"));
    }

    #[test]
    fn only_numbers_only_text_and_a_reserved_name_write_the_same() {
        for record in [
            (|v: &mut dyn Visit, f: &[Field]| {
                v.record_u64(&f[0], 1);
                v.record_u64(&f[3], 2);
            }) as fn(&mut dyn Visit, &[Field]),
            |v, f| v.record_str(&f[0], "x"),
            |v, f| {
                v.record_str(&f[0], "x");
                v.record_u64(&f[3], 3);
            },
            |v, f| {
                v.record_u64(&f[0], 4);
                v.record_str(&f[3], "y");
            },
            |v, f| {
                v.record_bool(&f[3], true);
                v.record_str(&f[4], "z");
            },
            |_, _| {},
        ] {
            let (kept, expected) = both(record);
            assert_eq!(kept, expected);
        }
        // `level` is written as `field.level`.
        let (kept, _) = both(|v, f| v.record_u64(&f[3], 1));
        assert_eq!(kept, "\"d\":1,\"field.level\":1");
    }

    #[test]
    fn cleared_fields_are_empty() {
        let mut kept = Fields::default();
        let fields = fields_of(|| tracing::info_span!("s", n = 1_u64));
        kept.recorder().record_u64(&fields[0], 1);
        assert!(!kept.is_empty());
        kept.clear();
        assert!(kept.is_empty());
        assert_eq!(kept.json(), "");
    }
}
