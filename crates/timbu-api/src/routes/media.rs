//! `GET /media/<name>`: a stored image, streamed, with the type its content showed.

use actix_web::{
    http::{header, StatusCode},
    web, HttpResponse,
};
use futures_util::stream;
use tokio::io::AsyncReadExt;

use crate::{errors::detail_response, TimbuState};

const CHUNK: usize = 64 * 1024;

/// Stored image
#[utoipa::path(
    get,
    path = "/media/{name}",
    operation_id = "media",
    tag = "media",
    params(("name" = String, Path, description = "The opaque name in a user's `image_url`")),
    responses(
        (status = 200, description = "The image, byte for byte as uploaded, with the type recognised from its content; `X-Content-Type-Options: nosniff`, `Cache-Control: public, max-age=31536000, immutable`.",
            content(("image/png"), ("image/jpeg"), ("image/gif"), ("image/webp"), ("image/bmp"), ("image/tiff"), ("image/vnd.microsoft.icon"), ("image/avif"))),
        (status = 404, description = "Not Found", body = crate::wire::DetailResponse),
    )
)]
#[tracing::instrument(name = "Timbu media", skip_all)]
pub async fn media(name: web::Path<String>, state: web::Data<TimbuState>) -> HttpResponse {
    let not_found = || detail_response(StatusCode::NOT_FOUND, "Not Found");
    let Some((path, kind)) = state.media.resolve(&name) else {
        return not_found();
    };
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "Could not open a stored image");
            return detail_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        }
    };
    let length = match file.metadata().await {
        Ok(metadata) if metadata.is_file() => metadata.len(),
        Ok(_) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "Could not read a stored image's size");
            return detail_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        }
    };
    let body = stream::try_unfold(file, |mut file| async move {
        let mut buffer = vec![0; CHUNK];
        let read = file.read(&mut buffer).await?;
        if read == 0 {
            return Ok::<_, std::io::Error>(None);
        }
        buffer.truncate(read);
        Ok(Some((web::Bytes::from(buffer), file)))
    });
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, kind.content_type()))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .no_chunking(length)
        .streaming(body)
}
