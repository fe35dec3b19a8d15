//! The API as documented: `/api/openapi.json` is a valid OpenAPI 3.1
//! document (checked by openapi-spec-validator from PyPI), and
//! schemathesis (PyPI) drives a real vinpath with real credentials from
//! it: no 5xx, and every answer conforms to the document (its schema,
//! status code and content type).

use crate::support::*;

fn python_tool(name: &str) -> String {
    let path = format!("{}/target/py/bin/{name}", env!("CARGO_MANIFEST_DIR"));
    assert!(
        std::path::Path::new(&path).exists(),
        "{path} is missing: scripts/test installs it"
    );
    path
}

#[actix_web::test]
async fn the_document_is_valid_openapi_3_1() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let doc = app.call("GET", "/api/openapi.json", None, None).await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.body["openapi"], "3.1.0");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &doc.bytes).unwrap();
    let out = tokio::process::Command::new(python_tool("python3"))
        .args(["-c", "import json, sys; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1])))"])
        .arg(file.path())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every API route is in it.
    let paths = doc.body["paths"].as_object().unwrap();
    for p in [
        "/api/v1/orders",
        "/api/v1/events",
        "/api/v1/devices",
        "/api/v1/webhooks",
        "/api/v1/credentials/{credential_id}",
        "/api/v1/track/{token}",
    ] {
        assert!(paths.contains_key(p), "{p} is documented");
    }
}

#[actix_web::test]
async fn schemathesis_finds_no_server_error_and_no_answer_off_the_document() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    // A carrier and an order, so reads find something.
    app.carrier("sf-auto").await;
    app.order("JD-2026-000123", "sf-auto").await;
    let out = tokio::process::Command::new(python_tool("schemathesis"))
        .arg("run")
        .arg(format!("{}/api/openapi.json", app.base))
        .args(["-H", &format!("Authorization: Bearer {}", app.admin)])
        .args(["-c", "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"])
        .args(["-n", "10", "--generation-deterministic", "--no-color"])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("passed"), "{text}");
}
