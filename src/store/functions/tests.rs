//! The two sides of every Redis function agree: the names the Lua binds
//! its keys and arguments to, in order, are the names the Rust type lists.

use super::*;
use crate::domain::Milestone;

/// The Lua function `name`'s body.
fn body(name: &str) -> &'static str {
    let start = LIBRARY
        .find(&format!("local function {name}(keys, argv)"))
        .unwrap_or_else(|| panic!("no Lua function {name}"));
    let rest = &LIBRARY[start..];
    &rest[..rest.find("\nend\n").expect("the function ends")]
}

/// The locals bound from `KEYS[i]` or `ARGV[i]` (`table` is `keys` or
/// `argv`), by position: `local a, b = argv[1], num(argv[2])`.
fn bound(body: &str, table: &str) -> Vec<String> {
    let mut names: Vec<(usize, String)> = Vec::new();
    for line in body.lines().map(str::trim) {
        let Some(line) = line.strip_prefix("local ") else {
            continue;
        };
        let Some((lhs, rhs)) = line.split_once(" = ") else {
            continue;
        };
        let lhs: Vec<&str> = lhs.split(", ").collect();
        let rhs: Vec<&str> = rhs.split(", ").collect();
        for (name, value) in lhs.iter().zip(&rhs) {
            let value = value.trim_start_matches("num(").trim_end_matches(')');
            if let Some(i) = value
                .strip_prefix(&format!("{table}["))
                .and_then(|v| v.strip_suffix(']'))
            {
                names.push((i.parse().expect("an index"), (*name).to_owned()));
            }
        }
    }
    names.sort();
    for (n, (i, name)) in names.iter().enumerate() {
        assert_eq!(*i, n + 1, "{table}[{i}] ({name}) is bound out of order");
    }
    names.into_iter().map(|(_, n)| n).collect()
}

fn agree<F: Function>(lua_name: &str) {
    let b = body(lua_name);
    assert_eq!(bound(b, "keys"), F::KEYS, "KEYS of {lua_name}");
    assert_eq!(bound(b, "argv"), F::ARGV, "ARGV of {lua_name}");
    assert!(
        LIBRARY.contains(&format!(
            "redis.register_function('{PREFIX}{}', {lua_name})",
            F::NAME
        )),
        "{lua_name} is registered as {PREFIX}{}",
        F::NAME
    );
}

#[test]
fn every_function_binds_the_names_its_rust_type_lists() {
    agree::<Scan>("scan");
    agree::<Cancel>("cancel");
    agree::<Fix>("fix");
    agree::<CarriedFix>("carried_fix");
    agree::<TruckFix>("truck_fix");
    agree::<Bind>("bind");
    agree::<Unbind>("unbind");
    agree::<Settle>("settle");
    agree::<AlertOps>("alert");
    agree::<Clip>("clip");
    agree::<Quiet>("quiet");
    agree::<Rotate>("rotate");
    agree::<Create>("create");
    agree::<Patch>("patch");
    agree::<Claim>("claim");
    agree::<HandOver>("handover");
    agree::<LiveList>("live");
    agree::<Arrive>("arrive");
    agree::<TellLive>("tell_live");
    agree::<QuietCamera>("quiet_camera");
    agree::<TakeRecording>("take_recording");
    agree::<Unclaim>("unclaim");
    agree::<Forget>("forget");
    agree::<Spill>("spill");
    agree::<Seat>("seat");
    agree::<Correct>("correct");
    agree::<AckAlert>("ack_alert");
    agree::<Inspect>("inspect");
    agree::<VoidTruckFix>("void_truck_fix");
    agree::<Enqueue>("enqueue");
    agree::<Take>("take");
    agree::<Attempt>("attempt");
    agree::<Redeliver>("redeliver");
    agree::<ForgetDeliveries>("forget_deliveries");
}

#[test]
fn the_library_is_named_for_its_version() {
    assert!(LIBRARY.starts_with(&format!("#!lua name={}\n", PREFIX.trim_end_matches('_'))));
}

#[test]
fn the_lua_milestone_index_matches_the_domain() {
    let start = LIBRARY.find("local INDEX = {").expect("the index");
    let table = &LIBRARY[start + "local INDEX = {".len()..];
    let table = &table[..table.find('}').expect("its end")];
    let pairs: Vec<(String, usize)> = table
        .split(',')
        .map(|p| {
            let (m, i) = p.split_once('=').expect("name = index");
            (m.trim().to_owned(), i.trim().parse().expect("a number"))
        })
        .collect();
    let expected: Vec<(String, usize)> = Milestone::ALL
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str().to_owned(), i + 1))
        .collect();
    assert_eq!(pairs, expected);
}

#[test]
fn answers_of_the_wrong_shape_are_errors_not_defaults() {
    use redis::Value;
    let s = |x: &str| Value::BulkString(x.as_bytes().to_vec());
    // One item short.
    let short = Value::Array(vec![s("accepted"), s(""), s(""), s("loaded"), s("")]);
    assert!(ScanAnswer::parse(short).is_err());
    // An unknown status.
    let odd = Value::Array(vec![s("maybe"), s(""), s(""), s(""), s("0"), s("")]);
    assert!(FixAnswer::parse(odd).is_err());
    // A since that is no number.
    let nan = Value::Array(vec![s("accepted"), s(""), s(""), s("T"), s("soon"), s("3")]);
    assert!(FixAnswer::parse(nan).is_err());
    let ok = Value::Array(vec![s("skip"), s(""), s(""), s("T"), s("12"), s("")]);
    let a = FixAnswer::parse(ok).expect("a fix answer");
    assert_eq!(
        (a.status, a.truck.as_deref(), a.truck_since, a.rev),
        (Status::Skip, Some("T"), 12, None)
    );
    // A five-item answer of the older shape is refused, not padded.
    let old = Value::Array(vec![s("accepted"), s(""), s(""), s("T"), s("12")]);
    assert!(FixAnswer::parse(old).is_err());
    // A follow-up that is not the JSON it must be.
    let bad = Value::Array(vec![
        s("accepted"),
        s(""),
        s(""),
        s("loaded"),
        s("T"),
        s("1-0"),
        s("{"),
    ]);
    assert!(ScanAnswer::parse(bad).is_err());
}
