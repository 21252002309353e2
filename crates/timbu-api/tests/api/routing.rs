//! Unknown paths, wrong methods and the OpenAPI document.

use serde_json::{json, Value};
use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{detail, spawn_app};

async fn unknown_paths_and_wrong_methods_answer_like_fastapi(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/timbu/auth/nope", "/timbu", "/timbu/users/you"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(
            detail(response).await,
            (404, json!({"detail": "Not Found"})),
            "{path}"
        );
    }
    for (method, path, allow) in [
        (reqwest::Method::GET, "/timbu/auth/signup", "POST"),
        (reqwest::Method::PUT, "/timbu/auth/login", "POST"),
        (
            reqwest::Method::POST,
            "/timbu/auth/refresh-access-token",
            "GET",
        ),
        (reqwest::Method::GET, "/timbu/auth/logout", "POST"),
        (reqwest::Method::DELETE, "/timbu/users/me", "GET"),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        assert_eq!(
            detail(response).await,
            (405, json!({"detail": "Method Not Allowed"})),
            "{method} {path}"
        );
    }
}

#[test]
fn the_openapi_document_describes_every_route_and_both_bodies() {
    let settings = timbu_api::Settings {
        password_min_chars: 10,
        ..Default::default()
    };
    let doc: Value = serde_json::to_value(timbu_api::openapi(&settings)).unwrap();
    for (path, method) in [
        ("/auth/signup", "post"),
        ("/auth/login", "post"),
        ("/auth/refresh-access-token", "get"),
        ("/auth/logout", "post"),
        ("/users/me", "get"),
        ("/media/{name}", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    let content = &doc["paths"]["/auth/signup"]["post"]["requestBody"]["content"];
    assert_eq!(
        content["application/json"]["schema"]["$ref"],
        "#/components/schemas/SignupRequest"
    );
    assert_eq!(
        content["multipart/form-data"]["schema"]["$ref"],
        "#/components/schemas/SignupForm"
    );
    let schemas = &doc["components"]["schemas"];
    let fields = [
        "email",
        "password",
        "first_name",
        "last_name",
        "phone_number",
        "country_code",
        "country",
        "state",
    ];
    let json_keys: Vec<&String> = schemas["SignupRequest"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(json_keys, fields);
    let form_keys: Vec<&String> = schemas["SignupForm"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    let mut with_image = fields.to_vec();
    with_image.push("image");
    assert_eq!(form_keys, with_image);
    for schema in ["SignupRequest", "SignupForm"] {
        assert_eq!(
            schemas[schema]["required"],
            json!(["email", "password"]),
            "{schema}"
        );
        assert_eq!(schemas[schema]["properties"]["password"]["minLength"], 10);
        assert_eq!(schemas[schema]["properties"]["password"]["maxLength"], 128);
    }
    assert_eq!(
        schemas["SignupForm"]["properties"]["image"]["format"],
        "binary"
    );
    let data_keys: Vec<&String> = schemas["UserData"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        data_keys,
        [
            "id",
            "email",
            "first_name",
            "last_name",
            "phone_number",
            "country_code",
            "country",
            "state",
            "image_url",
            "is_active",
            "is_verified",
            "date_created"
        ]
    );
    assert_eq!(
        schemas["ValidationError"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["loc", "msg", "type"]
    );
    let responses = &doc["paths"]["/auth/signup"]["post"]["responses"];
    for status in ["201", "400", "413", "415", "422", "500", "503"] {
        assert!(responses[status].is_object(), "{status}");
    }
}

on_each_backend!(unknown_paths_and_wrong_methods_answer_like_fastapi);
