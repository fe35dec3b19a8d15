//! `rediss://`: vinpath talks to a Redis over TLS, checked against the
//! authority `VINPATH_REDIS_CA` names (M3), and refuses one it cannot trust.

use std::path::Path;
use std::process::Command;

use serde_json::json;
use vinpath::app::Application;

use crate::support::*;

/// A certificate authority and a certificate for 127.0.0.1 it signed.
fn certificates(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl is installed (scripts/test installs it)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=vinpath-test-ca",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "redis.key",
        "-out",
        "redis.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "redis.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "redis.crt",
        "-days",
        "2",
        "-extfile",
        "ext",
    ]);
}

#[actix_web::test]
async fn vinpath_talks_to_a_redis_over_tls_it_can_trust() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let port = free_port();
    let d = dir.path().to_owned();
    let _redis = Daemon::spawn(
        "redis-server (TLS)",
        port,
        move || {
            let mut c = Command::new("redis-server");
            c.args([
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .args([
                "--tls-auth-clients",
                "no",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--tls-cert-file")
            .arg(d.join("redis.crt"))
            .arg("--tls-key-file")
            .arg(d.join("redis.key"))
            .arg("--tls-ca-cert-file")
            .arg(d.join("ca.crt"));
            c
        },
        Daemon::listening,
    );
    let plain = TestRedis::start();
    let mut s = settings(&plain);
    s.redis_url = Some(format!("rediss://127.0.0.1:{port}"));
    s.redis_ca = Some(dir.path().join("ca.crt"));
    let app = TestApp::with(s.clone()).await;
    let key = app.carrier("sf-auto").await;
    app.order("JD-1", "sf-auto").await;
    app.post_expect(
        &key,
        json!([order_fix("t1", "JD-1", -5, 23.1, 113.5)]),
        "accepted",
    )
    .await;
    assert_eq!(app.get_order("JD-1").await["position"]["lat"], 23.1);
    // Without the authority, the system's roots do not trust it: no start.
    s.redis_ca = None;
    let Err(refused) = Application::build(s).await else {
        panic!("an untrusted Redis is refused");
    };
    let why = vinpath::http::chain(&refused);
    assert!(
        why.contains("certificate") || why.contains("Certificate"),
        "{why}"
    );
}
