//! Tests of the SQL reader: operation, table and summary from a query, and
//! the sanitizer's handling of every literal PostgreSQL accepts.

use super::*;

#[test]
fn literals_become_placeholders() {
    let cases = [
        ("SELECT 1", "SELECT ?"),
        (
            "SELECT * FROM t1 WHERE a = 'x' AND b = 2.5e-3",
            "SELECT * FROM t1 WHERE a = ? AND b = ?",
        ),
        (
            "SELECT 'it''s', E'a\\'b', B'101', X'FF', N'n', U&'d\\0061'",
            "SELECT ?, ?, ?, ?, ?, ?",
        ),
        ("SELECT $$a 'b' c$$, $body$ x $$ y $body$", "SELECT ?, ?"),
        (
            "SELECT * FROM t WHERE id = $1 AND x = $2",
            "SELECT * FROM t WHERE id = $1 AND x = $2",
        ),
        ("SELECT 0x1F, 1_000, .5, 7.", "SELECT ?, ?, ?, ?"),
        (
            "SELECT \"Col 'x'\" FROM \"My\"\"Table\"",
            "SELECT \"Col 'x'\" FROM \"My\"\"Table\"",
        ),
        ("SELECT a -- secret 'x'\nFROM t", "SELECT a \nFROM t"),
        ("SELECT /* a /* nested 'x' */ b */ c", "SELECT  c"),
        ("SELECT -5, a-1", "SELECT -?, a-?"),
        (
            "SELECT ARRAY[1,2], '{\"k\":\"v\"}'::jsonb",
            "SELECT ARRAY[?,?], ?::jsonb",
        ),
        ("SELECT e, x1, café FROM t", "SELECT e, x1, café FROM t"),
        (
            "INSERT INTO t VALUES ('ünïcødé 🎉', 3)",
            "INSERT INTO t VALUES (?, ?)",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(sanitize_sql(input), want, "{input}");
    }
}

#[test]
fn hostile_input_never_leaks_a_literal() {
    let secret = "s3cr3t";
    let hostile = [
        "SELECT 's3cr3t",
        "SELECT E's3cr3t\\'",
        "SELECT E'\\\\' || 's3cr3t'",
        "SELECT $$s3cr3t",
        "SELECT $a$s3cr3t$b$",
        "SELECT \"s3cr3t",
        "SELECT 1 /* s3cr3t",
        "SELECT 1 /* /* */ s3cr3t",
        "SELECT 1 -- s3cr3t",
        "SELECT ''''||'s3cr3t'''",
        "SELECT 'a''s3cr3t'",
        "SELECT U&'s3cr3t' UESCAPE '!'",
        "'s3cr3t'",
        "SELECT n's3cr3t', e's3cr3t', x's3cr3t', b's3cr3t'",
        "\u{0}'s3cr3t'\u{0}",
    ];
    for h in hostile {
        let out = sanitize_sql(h);
        assert!(!out.contains(secret), "{h:?} -> {out:?}");
    }
    // Numbers in any position.
    for h in [
        "SELECT 123456",
        "x=123456",
        "(123456)",
        "1e123456",
        ".123456",
        "0x123456",
    ] {
        let out = sanitize_sql(h);
        assert!(!out.contains("123456"), "{h:?} -> {out:?}");
    }
}

#[test]
fn arbitrary_bytes_never_panic_and_stay_utf8() {
    // A deterministic walk over many short inputs from a hostile alphabet.
    let alphabet = [
        "'", "\"", "$", "$a$", "E", "U&", "-", "/", "*", "\\", "1", ".", "é", " ", "x", "\n", "e",
        "0x",
    ];
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..20_000 {
        let mut s = String::new();
        for _ in 0..(seed % 12) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            s.push_str(alphabet[(seed % alphabet.len() as u64) as usize]);
        }
        let out = sanitize_sql(&s);
        let _ = summarize(&out);
        // Outside quoted identifiers, every `'` opens a string, and
        // every string is replaced whole.
        if !s.contains('"') {
            assert!(!out.contains('\''), "{s:?} -> {out:?}");
        }
    }
}

#[test]
fn summaries_name_the_operation_and_its_tables() {
    let s = |q: &str| summarize(&sanitize_sql(q));
    let one = s("SELECT id FROM users WHERE id = $1");
    assert_eq!(one.operation, Some("SELECT"));
    assert_eq!(one.collection.as_deref(), Some("users"));
    assert_eq!(one.summary.as_deref(), Some("SELECT users"));

    let join = s("select * from orders o join public.users u on o.uid = u.id");
    assert_eq!(join.operation, Some("SELECT"));
    assert_eq!(join.collection, None);
    assert_eq!(join.summary.as_deref(), Some("SELECT orders public.users"));

    assert_eq!(
        s("INSERT INTO \"Items\" (a) VALUES (1)").summary.as_deref(),
        Some("INSERT \"Items\"")
    );
    assert_eq!(
        s("UPDATE ONLY t SET a = 1").summary.as_deref(),
        Some("UPDATE t")
    );
    assert_eq!(
        s("DELETE FROM t WHERE a IN (SELECT b FROM u)")
            .summary
            .as_deref(),
        Some("DELETE t u")
    );
    assert_eq!(
        s("CREATE TABLE IF NOT EXISTS t (a int)").summary.as_deref(),
        Some("CREATE t")
    );
    assert_eq!(
        s("WITH x AS (SELECT * FROM a) SELECT * FROM x")
            .summary
            .as_deref(),
        Some("SELECT a x")
    );
    assert_eq!(
        s("SELECT * FROM (SELECT 1) sub").summary.as_deref(),
        Some("SELECT")
    );
    // `DO UPDATE` and `FOR UPDATE` are clauses: the statement still works
    // on its one table.
    for upsert in [
        "INSERT INTO users (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
        "insert into users (id) values (1) on conflict on constraint users_pkey do update set id = 2",
        "INSERT INTO users (id) VALUES ($1) ON CONFLICT DO NOTHING",
    ] {
        let summary = s(upsert);
        assert_eq!(summary.operation, Some("INSERT"), "{upsert}");
        assert_eq!(summary.collection.as_deref(), Some("users"), "{upsert}");
        assert_eq!(summary.summary.as_deref(), Some("INSERT users"), "{upsert}");
    }
    for locking in [
        "SELECT * FROM jobs WHERE id = $1 FOR UPDATE SKIP LOCKED",
        "SELECT * FROM jobs FOR NO KEY UPDATE NOWAIT",
    ] {
        assert_eq!(s(locking).collection.as_deref(), Some("jobs"), "{locking}");
    }
    assert_eq!(
        s("WITH moved AS (UPDATE jobs SET a = 1 RETURNING id) SELECT * FROM moved")
            .summary
            .as_deref(),
        Some("SELECT jobs moved")
    );
    assert_eq!(s("BEGIN").summary.as_deref(), Some("BEGIN"));
    assert_eq!(s("  -- c\n commit;").operation, Some("COMMIT"));
    assert_eq!(s("FROBNICATE everything"), Summary::default());
    assert_eq!(s(""), Summary::default());
    let long = format!(
        "SELECT * FROM {}",
        (0..40)
            .map(|i| format!("t{i:030}"))
            .collect::<Vec<_>>()
            .join(" JOIN ")
    );
    assert!(s(&long).summary.unwrap().len() <= SUMMARY_MAX);
}
