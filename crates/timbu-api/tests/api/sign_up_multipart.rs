//! `POST /timbu/auth/signup` with `multipart/form-data`: text parts and the image.

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use signup_test_support::{on_each_backend, Backend};

use crate::{
    helpers::{
        assert_server_values, detail, expected_data, image_part, png, spawn_app, valid_form,
        IMAGE_MAX,
    },
    sign_up::validation_body,
};

const NOT_AN_IMAGE: &str = "Image must be a PNG, JPEG, GIF, WebP, BMP, TIFF, ICO or AVIF file.";

async fn a_multipart_sign_up_without_an_image_returns_201(backend: Backend) {
    let app = spawn_app(backend).await;
    let form = valid_form()
        .text("phone_number", " 0803 123 4567 ")
        .text("country_code", "+234")
        .text("country", "")
        .text("state", "   ");
    let response = app.sign_up_form(form).await;
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_server_values(&body["data"]);
    assert_eq!(
        body["data"],
        expected_data(
            &body["data"],
            json!({"email": "user@example.com", "first_name": "John", "last_name": "Doe",
                   "phone_number": "0803 123 4567", "country_code": "+234"})
        )
    );
    assert!(body["access_token"].is_string() && body["refresh_token"].is_string());
}

async fn an_image_is_stored_byte_for_byte_and_served_with_its_type(backend: Backend) {
    let app = spawn_app(backend).await;
    let bytes = png(700);
    // The declared type and name are wrong on purpose: only the content counts.
    let form = valid_form().part("image", image_part(bytes.clone(), "photo.gif", "image/gif"));
    let response = app.sign_up_form(form).await;
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.unwrap();
    let url = body["data"]["image_url"].as_str().unwrap().to_string();
    let name = url
        .strip_prefix("http://signup.test.example/timbu/media/")
        .unwrap_or_else(|| panic!("{url}"));
    let (stem, extension) = name.split_once('.').unwrap();
    assert!(
        stem.len() == 32 && stem.bytes().all(|b| b.is_ascii_hexdigit()),
        "{name}"
    );
    assert_eq!(extension, "png");
    assert_eq!(app.media_files(), vec![name.to_string()]);
    assert_eq!(std::fs::read(app.media_dir.join(name)).unwrap(), bytes);

    let served = app
        .client
        .get(app.url(&format!("/timbu/media/{name}")))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status().as_u16(), 200);
    let headers = served.headers();
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(headers["content-length"], "700");
    assert_eq!(served.bytes().await.unwrap().to_vec(), bytes);

    // The same URL in every later answer.
    let access = body["access_token"].as_str().unwrap();
    let me: Value = app.me(Some(access)).await.json().await.unwrap();
    assert_eq!(me["data"]["image_url"], url.as_str());
}

async fn every_accepted_format_is_recognised_by_its_content(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut bmp = b"BM\x46\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0".to_vec();
    bmp.resize(70, 1);
    let mut avif = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf".to_vec();
    avif.resize(90, 2);
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (png(40), "png", "image/png"),
        (
            b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01".to_vec(),
            "jpg",
            "image/jpeg",
        ),
        (b"GIF89a\x01\0\x01\0\x80\0\0".to_vec(), "gif", "image/gif"),
        (
            b"RIFF\x24\0\0\0WEBPVP8 \x18\0\0\0".to_vec(),
            "webp",
            "image/webp",
        ),
        (bmp, "bmp", "image/bmp"),
        (b"MM\0*\0\0\0\x08\0\x01\0\0".to_vec(), "tif", "image/tiff"),
        (
            b"\0\0\x01\0\x01\0\x10\x10\0\0".to_vec(),
            "ico",
            "image/vnd.microsoft.icon",
        ),
        (avif, "avif", "image/avif"),
    ];
    for (i, (bytes, extension, content_type)) in cases.into_iter().enumerate() {
        let form = Form::new()
            .text("email", format!("user{i}@example.com"))
            .text("password", "password123")
            .part(
                "image",
                image_part(bytes.clone(), "upload.bin", "application/octet-stream"),
            );
        let response = app.sign_up_form(form).await;
        assert_eq!(response.status().as_u16(), 201, "{extension}");
        let body: Value = response.json().await.unwrap();
        let url = body["data"]["image_url"].as_str().unwrap();
        assert!(url.ends_with(&format!(".{extension}")), "{url}");
        let served = app
            .client
            .get(url.replace("http://signup.test.example", &app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(served.headers()["content-type"], content_type);
        assert_eq!(served.bytes().await.unwrap().to_vec(), bytes);
    }
    assert_eq!(app.media_files().len(), 8);
}

async fn a_part_that_is_not_a_raster_image_returns_400_and_stores_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases: [(&[u8], &str, &str); 6] = [
        (b"just some text", "a.png", "image/png"),
        (
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
            "a.svg",
            "image/svg+xml",
        ),
        (
            b"<!DOCTYPE html><html><body>hi</body></html>",
            "a.jpg",
            "image/jpeg",
        ),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a.pdf", "application/pdf"),
        (b"GIF is not enough", "a.gif", "image/gif"),
        (b"BMW is a car", "a.bmp", "image/bmp"),
    ];
    for (bytes, name, declared) in cases {
        let form = valid_form().part("image", image_part(bytes.to_vec(), name, declared));
        let response = app.sign_up_form(form).await;
        assert_eq!(
            detail(response).await,
            (400, json!({"detail": NOT_AN_IMAGE})),
            "{name}"
        );
    }
    // Past the bytes that decide the type, too.
    let mut long_text = b"hello ".repeat(200);
    long_text.truncate(IMAGE_MAX);
    let form = valid_form().part("image", image_part(long_text, "a.png", "image/png"));
    assert_eq!(detail(app.sign_up_form(form).await).await.0, 400);
    assert!(app.media_files().is_empty());
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
}

async fn an_image_of_exactly_the_limit_is_accepted_and_one_byte_more_is_413(backend: Backend) {
    let app = spawn_app(backend).await;
    let over = valid_form().part(
        "image",
        image_part(png(IMAGE_MAX + 1), "a.png", "image/png"),
    );
    let response = app.sign_up_form(over).await;
    assert_eq!(
        detail(response).await,
        (
            413,
            json!({"detail": format!("Image must not exceed {IMAGE_MAX} bytes.")})
        )
    );
    assert!(app.media_files().is_empty(), "{:?}", app.media_files());
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);

    let exact = valid_form().part("image", image_part(png(IMAGE_MAX), "a.png", "image/png"));
    let response = app.sign_up_form(exact).await;
    assert_eq!(response.status().as_u16(), 201);
    let files = app.media_files();
    assert_eq!(files.len(), 1);
    assert_eq!(
        std::fs::read(app.media_dir.join(&files[0])).unwrap(),
        png(IMAGE_MAX)
    );
}

async fn a_much_larger_image_is_refused_while_streaming(backend: Backend) {
    let app = spawn_app(backend).await;
    let form = valid_form().part("image", image_part(png(512 * 1024), "a.png", "image/png"));
    let response = app.sign_up_form(form).await;
    match response.status().as_u16() {
        413 => {}
        other => panic!("unexpected status {other}"),
    }
    assert!(app.media_files().is_empty());
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
}

async fn a_failed_sign_up_with_an_image_leaves_no_file(backend: Backend) {
    let app = spawn_app(backend).await;
    // 422: an invalid field after a valid image.
    let form = Form::new()
        .part("image", image_part(png(600), "a.png", "image/png"))
        .text("email", "not-an-address")
        .text("password", "password123");
    let response = app.sign_up_form(form).await;
    assert_eq!(
        detail(response).await,
        (
            422,
            validation_body(&[("email", "Email is not a valid email address.".into())])
        )
    );
    assert!(app.media_files().is_empty(), "{:?}", app.media_files());

    // 400: the address is taken.
    let first = app.sign_up_form(valid_form()).await;
    assert_eq!(first.status().as_u16(), 201);
    let again = valid_form().part("image", image_part(png(600), "a.png", "image/png"));
    let response = app.sign_up_form(again).await;
    assert_eq!(
        detail(response).await,
        (
            400,
            json!({"detail": "User with this email already exists"})
        )
    );
    assert!(app.media_files().is_empty(), "{:?}", app.media_files());

    // 500: the store fails.
    sqlx::query("ALTER TABLE accounts RENAME TO accounts_gone")
        .execute(app.store.pool())
        .await
        .unwrap();
    let form = Form::new()
        .text("email", "other@example.com")
        .text("password", "password123")
        .part("image", image_part(png(600), "a.png", "image/png"));
    let response = app.sign_up_form(form).await;
    assert_eq!(
        detail(response).await,
        (500, json!({"detail": "Internal Server Error"}))
    );
    assert!(app.media_files().is_empty(), "{:?}", app.media_files());
}

async fn an_empty_file_part_is_no_image(backend: Backend) {
    let app = spawn_app(backend).await;
    let form = valid_form().part(
        "image",
        image_part(Vec::new(), "", "application/octet-stream"),
    );
    let response = app.sign_up_form(form).await;
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["image_url"], Value::Null);
    assert!(app.media_files().is_empty());
}

async fn multipart_fields_follow_the_json_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    // Missing, empty, a text field sent as a file, and a bad optional one.
    let form = Form::new()
        .text("password", "")
        .part(
            "first_name",
            Part::bytes(b"John".to_vec()).file_name("name.txt"),
        )
        .text("country_code", "44");
    let response = app.sign_up_form(form).await;
    assert_eq!(
        detail(response).await,
        (
            422,
            validation_body(&[
                ("email", "Email is required.".into()),
                ("password", "Password is required.".into()),
                ("first_name", "First name must be a string.".into()),
                (
                    "country_code",
                    "Country code must be '+' followed by 1 to 4 digits.".into()
                ),
            ])
        )
    );
    // A repeated field keeps its last value; unknown parts are ignored.
    let form = valid_form()
        .text("first_name", "Jane")
        .text("nickname", "JJ")
        .part(
            "attachment",
            Part::bytes(b"whatever".to_vec()).file_name("x.txt"),
        );
    let response = app.sign_up_form(form).await;
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["first_name"], "Jane");
}

async fn a_malformed_multipart_body_returns_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases: [(&str, &[u8]); 3] = [
        ("multipart/form-data", b"--x\r\n"),
        ("multipart/form-data; boundary=x", b"no boundary here"),
        (
            "multipart/form-data; boundary=x",
            b"--x\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nuser@example.com",
        ),
    ];
    for (content_type, body) in cases {
        let response = app
            .post_raw("/timbu/auth/signup", body.to_vec(), Some(content_type))
            .await;
        assert_eq!(
            detail(response).await,
            (
                400,
                json!({"detail": "There was an error parsing the body"})
            ),
            "{content_type} {:?}",
            String::from_utf8_lossy(body)
        );
    }
    assert!(app.media_files().is_empty());
}

async fn text_parts_share_the_body_limit(backend: Backend) {
    let app = crate::helpers::spawn_app_with(backend, |s| s.server.body_limit_bytes = 256).await;
    let form = valid_form().text("state", "s".repeat(300));
    let response = app.sign_up_form(form).await;
    assert_eq!(
        detail(response).await,
        (
            413,
            json!({"detail": "Request body must not exceed 256 bytes."})
        )
    );
    // The image has its own limit, beyond the body limit.
    let form = valid_form().part("image", image_part(png(IMAGE_MAX), "a.png", "image/png"));
    assert_eq!(app.sign_up_form(form).await.status().as_u16(), 201);
}

on_each_backend!(
    a_multipart_sign_up_without_an_image_returns_201,
    an_image_is_stored_byte_for_byte_and_served_with_its_type,
    every_accepted_format_is_recognised_by_its_content,
    a_part_that_is_not_a_raster_image_returns_400_and_stores_nothing,
    an_image_of_exactly_the_limit_is_accepted_and_one_byte_more_is_413,
    a_much_larger_image_is_refused_while_streaming,
    a_failed_sign_up_with_an_image_leaves_no_file,
    an_empty_file_part_is_no_image,
    multipart_fields_follow_the_json_rules,
    a_malformed_multipart_body_returns_400,
    text_parts_share_the_body_limit,
);
