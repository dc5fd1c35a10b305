//! Tests of `tracestate`: its grammar, limits and truncation rules.

use super::*;

fn ts(headers: &[&str]) -> TraceState {
    TraceState::from_headers(headers.iter().copied())
}

fn keys(t: &TraceState) -> Vec<String> {
    t.pairs().map(|(k, _)| k.to_owned()).collect()
}

#[test]
fn several_headers_are_combined_in_order() {
    let t = ts(&["foo=1,bar=2", "rojo=1,congo=2", "baz=3"]);
    assert_eq!(t.header().unwrap(), "foo=1,bar=2,rojo=1,congo=2,baz=3");
    assert_eq!(ts(&["foo=1", ""]).header().unwrap(), "foo=1");
    assert_eq!(ts(&["", "foo=1"]).header().unwrap(), "foo=1");
}

#[test]
fn whitespace_around_members_is_optional() {
    let t = ts(&["foo=1 \t , \t bar=2, \t baz=3"]);
    assert_eq!(t.header().unwrap(), "foo=1,bar=2,baz=3");
    assert_eq!(ts(&["\t foo=1 \t"]).header().unwrap(), "foo=1");
    assert_eq!(ts(&["foo=1,,bar=2"]).header().unwrap(), "foo=1,bar=2");
}

#[test]
fn an_empty_list_sends_no_header() {
    assert_eq!(ts(&[]).header(), None);
    assert_eq!(ts(&[""]).header(), None);
    assert_eq!(ts(&[" , ,"]).header(), None);
}

#[test]
fn keys_follow_the_level_2_grammar() {
    let z256 = "z".repeat(256);
    let tenant = format!("{}@{}", "t".repeat(241), "v".repeat(14));
    let long_tenant = format!("{}@v", "t".repeat(242));
    let long_system = format!("t@{}", "v".repeat(15));
    for key in [
        "foo",
        "0foo",
        "foo@",
        "foo@@bar",
        "foo@bar@baz",
        "a-z0-9_-*/@a-z0-9_-*/",
        z256.as_str(),
        tenant.as_str(),
        long_tenant.as_str(),
        long_system.as_str(),
    ] {
        assert!(valid_key(key), "{key:?} refused");
        let t = ts(&["foo=1", &format!("{key}=1")]);
        assert!(keys(&t).contains(&key.to_owned()), "{key:?} dropped");
    }
    let z257 = "z".repeat(257);
    for key in [
        "",
        "@foo",
        "Foo",
        "FOO",
        "foo ",
        "foo.bar",
        "_foo",
        "fo=o",
        z257.as_str(),
    ] {
        assert!(!valid_key(key), "{key:?} accepted");
        assert!(
            ts(&["foo=1", &format!("{key}=1")]).is_empty(),
            "{key:?}: list kept"
        );
    }
}

#[test]
fn values_follow_the_grammar() {
    let all: String = (0x20u8..=0x7e)
        .filter(|c| *c != b',' && *c != b'=')
        .map(char::from)
        .collect();
    assert!(valid_value(&all));
    let t = ts(&[&format!("foo={all}")]);
    assert_eq!(t.pairs().next().unwrap().1, all);
    assert!(valid_value(" leading space is allowed"));
    assert!(valid_value(&"v".repeat(256)));
    for bad in ["", "a ", "a\tb", "a=b", "\u{7f}", "é", &"v".repeat(257)] {
        assert!(!valid_value(bad), "{bad:?} accepted");
    }
    assert!(ts(&["foo=bar=baz"]).is_empty());
    assert!(
        ts(&["foo=,bar=3"]).is_empty(),
        "an empty value discards the list"
    );
    assert!(ts(&["foo"]).is_empty());
}

#[test]
fn more_than_32_members_discards_the_list() {
    let members: Vec<String> = (1..=33).map(|i| format!("bar{i:02}={i:02}")).collect();
    let t32 = ts(&[&members[..10].join(","), &members[10..32].join(",")]);
    assert_eq!(t32.pairs().count(), 32);
    let t33 = ts(&[&members[..10].join(","), &members[10..].join(",")]);
    assert!(t33.is_empty());
}

#[test]
fn duplicate_keys_keep_the_first_entry() {
    assert_eq!(ts(&["foo=1,foo=2"]).header().unwrap(), "foo=1");
    assert_eq!(ts(&["foo=1", "foo=2"]).header().unwrap(), "foo=1");
}

#[test]
fn an_oversized_incoming_list_is_discarded_unparsed() {
    let big = format!("a=1,{}", " ".repeat(MAX_INCOMING));
    assert!(ts(&[&big]).is_empty());
}

#[test]
fn outgoing_truncation_removes_long_entries_first_then_from_the_end() {
    // 4 short entries, one 200-char entry, more short ones: 600+ chars.
    let long = format!("long={}", "l".repeat(195));
    let mut members: Vec<String> = (0..4).map(|i| format!("a{i}={}", "x".repeat(60))).collect();
    members.push(long.clone());
    members.extend((4..8).map(|i| format!("a{i}={}", "x".repeat(60))));
    let t = ts(&[&members.join(",")]);
    let header = t.header().unwrap();
    assert!(header.len() <= MAX_OUTGOING, "{}", header.len());
    assert!(!header.contains("long="), "the long entry goes first");
    // Without the long one: 8 × 63 + 7 = 511 chars, which fits.
    assert_eq!(header.split(',').count(), 8, "{header}");

    // Too long even without long entries: cut from the end.
    let many: Vec<String> = (0..12)
        .map(|i| format!("b{i:02}={}", "y".repeat(60)))
        .collect();
    let header = ts(&[&many.join(",")]).header().unwrap();
    assert!(header.len() <= MAX_OUTGOING);
    assert!(header.starts_with("b00="));
    assert_eq!(header.split(',').count(), 7, "{header}");
    assert!(
        header.split(',').all(|e| many.contains(&e.to_owned())),
        "whole entries only"
    );

    // A list under the limit is sent as it is, long entries included.
    let small = ts(&[&format!("k=1,{long}")]);
    assert_eq!(small.header().unwrap(), format!("k=1,{long}"));
}

#[test]
fn the_sdk_state_keeps_what_the_sdk_accepts() {
    let t = ts(&["foo=1,foo@@bar=2,bar=3"]);
    assert_eq!(t.to_sdk().header(), "foo=1,bar=3");
    let t = ts(&["foo=1,bar=2"]);
    assert_eq!(t.to_sdk().header(), "foo=1,bar=2");
    assert_eq!(TraceState::from_sdk(&t.to_sdk()), t);
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = fastrand::Rng::with_seed(11);
    let alphabet = b"az09_-*/@=, \t\x7f";
    for _ in 0..20_000 {
        let headers: Vec<String> = (0..rng.usize(0..4))
            .map(|_| {
                let v: Vec<u8> = (0..rng.usize(0..300))
                    .map(|_| {
                        if rng.u8(..) < 200 {
                            alphabet[rng.usize(0..alphabet.len())]
                        } else {
                            rng.u8(..)
                        }
                    })
                    .collect();
                String::from_utf8_lossy(&v).into_owned()
            })
            .collect();
        let t = TraceState::from_headers(headers.iter().map(String::as_str));
        assert!(t.pairs().count() <= MAX_MEMBERS);
        if let Some(h) = t.header() {
            assert!(h.len() <= MAX_OUTGOING);
            // What is sent parses back to a prefix-preserving subset.
            let back = TraceState::from_headers([h.as_str()]);
            assert!(!back.is_empty());
        }
    }
}
