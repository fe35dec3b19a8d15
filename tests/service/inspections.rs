//! Custody: the damage codes inspections are written in.

use serde_json::json;

use crate::support::*;

#[actix_web::test]
async fn the_damage_codes_are_served_to_every_role_in_both_languages() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let dispatcher = app.dispatcher().await;
    for token in [&key, &dispatcher, &app.admin] {
        let r = app
            .call("GET", "/api/v1/damage-codes", Some(token), None)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let front = r.body["areas"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["code"] == "03")
            .cloned();
        assert_eq!(
            front,
            Some(
                json!({"code": "03", "name": "Bumper/Cover/Ext - Front", "name_zh": "前保险杠/饰板"})
            )
        );
        assert_eq!(r.body["severities"].as_array().unwrap().len(), 6);
        assert!(r.body["types"].as_array().unwrap().len() > 25);
        assert!(r.body["source"].as_str().unwrap().contains("AIAG"));
    }
    let r = app.call("GET", "/api/v1/damage-codes", None, None).await;
    assert_eq!(r.status, 401);
}
