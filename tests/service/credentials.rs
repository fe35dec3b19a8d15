//! Credentials as an operator manages them: several keys per carrier,
//! listed without secrets, revoked everywhere within a second.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

/// A carrier's call that needs only a valid key.
async fn status_with(app: &TestApp, key: &str) -> u16 {
    let events = json!([scan("probe", "NO-SUCH-ORDER", "produced", -1)]);
    app.events(key, events).await.status
}

/// Waits up to `within` for `app` to answer `key` with `status`.
async fn answers_within(app: &TestApp, key: &str, status: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if status_with(app, key).await == status {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_web::test]
async fn a_revoked_credential_is_refused_everywhere_within_a_second() {
    let redis = TestRedis::start();
    let a = TestApp::spawn(&redis).await;
    let b = TestApp::spawn(&redis).await;
    let admin = Some(a.admin.as_str());
    let created = a
        .call(
            "POST",
            "/api/v1/carriers",
            admin,
            Some(json!({"carrier_id": "sf-auto", "name": "SF Auto"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let first = created.body["api_key"].as_str().unwrap().to_owned();
    let first_id = created.body["credential_id"].as_str().unwrap().to_owned();
    let more = a
        .call("POST", "/api/v1/carriers/sf-auto/keys", admin, None)
        .await;
    assert_eq!(more.status, 201, "{}", more.body);
    let second = more.body["api_key"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    let d = a
        .call(
            "POST",
            "/api/v1/dispatchers",
            admin,
            Some(json!({"name": "ops-gz"})),
        )
        .await;
    let dispatcher = d.body["token"].as_str().unwrap().to_owned();
    let dispatcher_id = d.body["credential_id"].as_str().unwrap().to_owned();

    // Every key works on both instances (each now holds it in its cache).
    for app in [&a, &b] {
        assert_eq!(status_with(app, &first).await, 200);
        assert_eq!(status_with(app, &second).await, 200);
    }
    let mut fleet = b
        .ws(&format!("/ws/fleet?access_token={dispatcher}"))
        .await
        .expect("opens");
    assert_eq!(fleet.next().await["type"], "snapshot");

    // Listed with when each was last used, never a secret.
    a.jobs.flush_used_now().await.unwrap();
    b.jobs.flush_used_now().await.unwrap();
    let list = a.call("GET", "/api/v1/credentials", admin, None).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let text = list.body.to_string();
    assert!(
        !text.contains(&first) && !text.contains(&dispatcher),
        "no secrets"
    );
    let rows = list.body.as_array().unwrap();
    assert_eq!(rows.len(), 3, "{text}");
    let row = |id: &str| rows.iter().find(|r| r["credential_id"] == id).cloned();
    let f = row(&first_id).expect("the first key is listed");
    assert_eq!(
        (f["role"].as_str(), f["carrier_id"].as_str()),
        (Some("carrier"), Some("sf-auto"))
    );
    assert!(
        f["created_at"].is_string() && f["last_used_at"].is_string(),
        "{f}"
    );
    assert_eq!(row(&dispatcher_id).expect("listed")["role"], "dispatcher");
    let forbidden = a
        .call("GET", "/api/v1/credentials", Some(&dispatcher), None)
        .await;
    forbidden.assert_problem(403, "forbidden");

    // A dispatcher's write is in the audit log with its credential; a
    // carrier's events are not.
    let order = a
        .call(
            "POST",
            "/api/v1/orders",
            Some(&dispatcher),
            Some(order_body("JD-1", "sf-auto")),
        )
        .await;
    assert_eq!(order.status, 201, "{}", order.body);

    // Revoked: 401 on both instances within a second; the other key stays.
    let r = a
        .call(
            "DELETE",
            &format!("/api/v1/credentials/{first_id}"),
            admin,
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    for app in [&a, &b] {
        assert!(answers_within(app, &first, 401, Duration::from_secs(1)).await);
        assert_eq!(status_with(app, &second).await, 200);
    }

    // A revoked dispatcher's socket closes (4401), and it is refused.
    let r = a
        .call(
            "DELETE",
            &format!("/api/v1/credentials/{dispatcher_id}"),
            admin,
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        fleet.close_code_within(Duration::from_secs(2)).await,
        Some(4401)
    );
    for app in [&a, &b] {
        let r = app
            .call("GET", "/api/v1/fleet", Some(&dispatcher), None)
            .await;
        r.assert_problem(401, "unauthorized");
    }
    let list = a.call("GET", "/api/v1/credentials", admin, None).await;
    assert_eq!(list.body.as_array().map(Vec::len), Some(1));
    let again = a
        .call(
            "DELETE",
            &format!("/api/v1/credentials/{first_id}"),
            admin,
            None,
        )
        .await;
    again.assert_problem(404, "not_found");
    let unknown: Value = a
        .call("POST", "/api/v1/carriers/nobody/keys", admin, None)
        .await
        .body;
    assert_eq!(unknown["status"], 404);

    // The audit log, page by page: every write of the admin and the
    // dispatcher, in order, with who made it.
    let mut entries: Vec<Value> = Vec::new();
    let mut after = String::new();
    loop {
        let q = if after.is_empty() {
            "?limit=2".to_owned()
        } else {
            format!("?limit=2&after={after}")
        };
        let page = b
            .call("GET", &format!("/api/v1/audit{q}"), admin, None)
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        entries.extend(page.body["entries"].as_array().unwrap().iter().cloned());
        match page.body["next"].as_str() {
            Some(n) => after = n.to_owned(),
            None => break,
        }
    }
    let actions: Vec<(String, String, String)> = entries
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (s("role"), s("credential_id"), s("action"))
        })
        .collect();
    let admin_did = |a: &str| ("admin".to_owned(), "admin".to_owned(), a.to_owned());
    assert_eq!(
        actions,
        [
            admin_did("POST /api/v1/carriers"),
            admin_did("POST /api/v1/carriers/{carrier_id}/keys"),
            admin_did("POST /api/v1/dispatchers"),
            (
                "dispatcher".into(),
                dispatcher_id.clone(),
                "POST /api/v1/orders".into()
            ),
            admin_did("DELETE /api/v1/credentials/{credential_id}"),
            admin_did("DELETE /api/v1/credentials/{credential_id}"),
        ]
    );
    assert_eq!(
        entries[4]["target"],
        format!("/api/v1/credentials/{first_id}")
    );
    assert!(entries.iter().all(|e| e["at"].is_string()));
    let refused = a.call("GET", "/api/v1/audit", Some(&second), None).await;
    refused.assert_problem(403, "forbidden");
}

/// A token made before credentials had ids (as an older vinpath wrote it)
/// gets an id on its first use: then it is listed and can be revoked.
#[actix_web::test]
async fn an_older_credential_gets_an_id_and_can_be_revoked() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let token = "vpd_made-by-an-older-vinpath";
    let client = redis::Client::open(redis.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("HSET")
        .arg(format!("vp:cred:{}", vinpath::store::auth::hash(token)))
        .arg("role")
        .arg("dispatcher")
        .arg("id")
        .arg("ops-old")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(
        app.call("GET", "/api/v1/fleet", Some(token), None)
            .await
            .status,
        200
    );
    let list = app
        .call("GET", "/api/v1/credentials", Some(&app.admin), None)
        .await;
    let rows = list.body.as_array().unwrap().clone();
    assert_eq!(rows.len(), 1, "{}", list.body);
    assert_eq!(rows[0]["name"], "ops-old");
    let id = rows[0]["credential_id"].as_str().unwrap().to_owned();
    let r = app
        .call(
            "DELETE",
            &format!("/api/v1/credentials/{id}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    let deadline = Instant::now() + Duration::from_secs(1);
    while app
        .call("GET", "/api/v1/fleet", Some(token), None)
        .await
        .status
        != 401
    {
        assert!(Instant::now() < deadline, "refused within a second");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_web::test]
async fn the_admin_cannot_revoke_itself() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let r = app
        .call(
            "DELETE",
            "/api/v1/credentials/admin",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["code"], "revoke_self");
    let still = app
        .call("GET", "/api/v1/credentials", Some(&app.admin), None)
        .await;
    assert_eq!(still.status, 200, "the admin token still works");
}

/// Beyond what Redis keeps, the oldest audit entries move to the clip
/// store with the sweep, and the log still reads whole, in order, with
/// the same cursors.
#[actix_web::test]
async fn the_audit_log_moves_its_oldest_entries_to_the_clip_store() {
    let redis = TestRedis::start();
    let clips = tempfile::tempdir().unwrap();
    let mut settings = settings(&redis);
    settings.store.audit_kept = 5;
    settings.clip_store = Some(format!("file://{}", clips.path().display()));
    let app = TestApp::with(settings).await;
    for i in 0..12 {
        let r = app
            .call(
                "POST",
                "/api/v1/dispatchers",
                Some(&app.admin),
                Some(json!({"name": format!("ops-{i}")})),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let read_all = |limit: usize| {
        let app = &app;
        async move {
            let mut all = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let q = after
                    .as_ref()
                    .map(|a| format!("&after={a}"))
                    .unwrap_or_default();
                let r = app
                    .call(
                        "GET",
                        &format!("/api/v1/audit?limit={limit}{q}"),
                        Some(&app.admin),
                        None,
                    )
                    .await;
                assert_eq!(r.status, 200, "{}", r.body);
                all.extend(r.body["entries"].as_array().unwrap().clone());
                match r.body["next"].as_str() {
                    Some(n) => after = Some(n.to_owned()),
                    None => return all,
                }
            }
        }
    };
    let before = read_all(100).await;
    assert_eq!(before.len(), 12);
    // Another instance moving it meanwhile: this sweep leaves it be.
    let mut c = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("{vp:audit}:busy")
        .arg("1")
        .arg("PX")
        .arg(60_000)
        .query_async(&mut c)
        .await
        .unwrap();
    app.jobs.sweep_now().await.unwrap();
    assert!(
        !walk(clips.path())
            .iter()
            .any(|p| p.contains("archive/audit/")),
        "nothing moved while another instance holds it"
    );
    let _: () = redis::cmd("DEL")
        .arg("{vp:audit}:busy")
        .query_async(&mut c)
        .await
        .unwrap();
    let moved = app.jobs.sweep_now().await.unwrap();
    assert!(moved >= 1, "a part was written");
    let parts: Vec<_> = walk(clips.path())
        .into_iter()
        .filter(|p| p.contains("archive/audit/"))
        .collect();
    assert_eq!(parts.len(), 1, "{parts:?}");
    // Read whole again, in pages that cross from the clip store to Redis.
    for limit in [3, 7, 100] {
        assert_eq!(read_all(limit).await, before, "pages of {limit}");
    }
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}
