//! `GET /timbu/media/<name>` and the media folder's life.

use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{detail, image_part, png, spawn_app, spawn_app_with, valid_form};

async fn unknown_and_crafted_names_return_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .sign_up_form(valid_form().part("image", image_part(png(100), "a.png", "image/png")))
        .await;
    let body: Value = response.json().await.unwrap();
    let stored = body["data"]["image_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let (stem, _) = stored.split_once('.').unwrap();
    std::fs::write(app.media_dir.join("notes.txt"), "private").unwrap();
    for path in [
        "/timbu/media/0123456789abcdef0123456789abcdef.png".to_string(),
        format!("/timbu/media/{stem}.gif"),
        format!("/timbu/media/{}", stored.to_uppercase()),
        "/timbu/media/notes.txt".to_string(),
        "/timbu/media/%2E%2E".to_string(),
        "/timbu/media/..%2Fsignup.db".to_string(),
        "/timbu/media/.tmp-x.upload".to_string(),
        "/timbu/media/".to_string(),
        format!("/timbu/media/{stored}/x"),
    ] {
        let response = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(
            detail(response).await,
            (404, json!({"detail": "Not Found"})),
            "{path}"
        );
    }
    let response = app
        .client
        .head(app.url(&format!("/timbu/media/{stored}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    let response = app
        .client
        .delete(app.url(&format!("/timbu/media/{stored}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    assert_eq!(
        detail(response).await,
        (405, json!({"detail": "Method Not Allowed"}))
    );
}

async fn mounting_removes_stale_temporaries_and_spares_live_ones(backend: Backend) {
    let folder = tempfile::tempdir().unwrap();
    let media = folder.path().join("media");
    std::fs::create_dir_all(&media).unwrap();
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    // Left by a killed process: nobody holds its lock.
    let stale = media.join(".tmp-stale123.upload");
    std::fs::write(&stale, b"half an upload").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(an_hour_ago)
        .unwrap();
    // Being written by another live instance: locked.
    let live = media.join(".tmp-live456.upload");
    std::fs::write(&live, b"in flight").unwrap();
    let writer = std::fs::File::options().write(true).open(&live).unwrap();
    writer.set_modified(an_hour_ago).unwrap();
    writer.lock().unwrap();
    // Just created, not yet locked by its writer.
    let fresh = media.join(".tmp-fresh789.upload");
    std::fs::write(&fresh, b"").unwrap();
    // A published image and a file that is not ours.
    let published = media.join("0123456789abcdef0123456789abcdef.png");
    std::fs::write(&published, png(10)).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&published)
        .unwrap()
        .set_modified(an_hour_ago)
        .unwrap();

    let dir = media.clone();
    let app = spawn_app_with(backend, move |s| s.flavours.media_dir = dir).await;

    let mut left = app.media_files();
    left.sort();
    assert_eq!(
        left,
        [
            ".tmp-fresh789.upload",
            ".tmp-live456.upload",
            "0123456789abcdef0123456789abcdef.png"
        ]
    );
    drop(writer);
}

async fn the_media_folder_is_created_at_mount(backend: Backend) {
    let app = spawn_app(backend).await;
    assert!(app.media_dir.is_dir());
}

on_each_backend!(
    unknown_and_crafted_names_return_404,
    mounting_removes_stale_temporaries_and_spares_live_ones,
    the_media_folder_is_created_at_mount,
);
