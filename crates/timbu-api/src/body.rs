//! Reading a sign-up body: a JSON object, or `multipart/form-data` streamed part by part with
//! the image written to the media folder as it arrives (never held in memory past the bytes
//! needed to recognise it, never past its limit).

use std::{cell::Cell, rc::Rc};

use actix_multipart::{Field as Part, Multipart, MultipartError};
use actix_web::{error::PayloadError, web, HttpRequest};
use futures_util::StreamExt;
use serde_json::Value;
use signup_http::Admitted;

use crate::{
    errors::TimbuError,
    media::{ImageKind, MediaStore, PendingImage, SNIFF_BYTES},
    wire::{Field, Raw, RawFields},
};

/// More parts than this is not a sign-up form.
const MAX_PARTS: usize = 64;
/// Room for boundaries and part headers beyond the parts' own limits.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// A sign-up body as it arrived: its fields, and the image being stored, if any.
#[derive(Debug)]
pub struct Submitted {
    pub fields: RawFields,
    pub image: Option<PendingImage>,
}

/// A JSON object's fields; anything else is a body that could not be parsed.
pub async fn json(
    req: &HttpRequest,
    payload: web::Payload,
    admitted: Admitted,
) -> Result<RawFields, TimbuError> {
    let body = admitted.body(req, payload).await?;
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(object)) => Ok(RawFields::from_json(object)),
        _ => Err(TimbuError::MalformedBody),
    }
}

/// A `multipart/form-data` sign-up. Text parts (and any part of another name) share the
/// server's body limit; the `image` part has its own. The whole stream is bounded by both,
/// so no part's headers can grow without end either.
pub async fn multipart(
    req: &HttpRequest,
    payload: web::Payload,
    admitted: Admitted,
    media: &MediaStore,
) -> Result<Submitted, TimbuError> {
    let text_limit = admitted.body_limit();
    let image_limit = media.max_bytes();
    // A backstop for what no part accounts for (boundaries, part headers); each part has
    // its own, tighter limit, so the image's own sentence is what an oversized image gets.
    let stream_limit = usize::try_from(image_limit)
        .unwrap_or(usize::MAX)
        .saturating_add(text_limit)
        .saturating_add(MULTIPART_OVERHEAD);
    let overflowed = Rc::new(Cell::new(false));
    let flag = Rc::clone(&overflowed);
    let mut read = 0usize;
    let bounded = payload.map(move |chunk| {
        let chunk = chunk?;
        read = read.saturating_add(chunk.len());
        if read > stream_limit {
            flag.set(true);
            return Err(PayloadError::Overflow);
        }
        Ok(chunk)
    });
    let mut parts = Multipart::new(req.headers(), bounded);
    let malformed = |error: MultipartError| {
        if overflowed.get() {
            TimbuError::BodyTooLarge {
                limit: stream_limit,
            }
        } else {
            tracing::debug!(%error, "Unreadable multipart body");
            TimbuError::MalformedBody
        }
    };

    let mut submitted = Submitted {
        fields: RawFields::default(),
        image: None,
    };
    let mut text_budget = text_limit;
    let mut count = 0;
    while let Some(part) = parts.next().await {
        let mut part = part.map_err(malformed)?;
        count += 1;
        if count > MAX_PARTS {
            return Err(TimbuError::MalformedBody);
        }
        let name = part.name().unwrap_or_default().to_string();
        let is_file = part
            .content_disposition()
            .is_some_and(|cd| cd.get_filename().is_some());
        if name == "image" {
            // The last image part wins; an earlier one is removed as it is dropped.
            submitted.image = read_image(&mut part, media)
                .await
                .map_err(|e| e.or_else(malformed))?;
            continue;
        }
        let text = read_text(&mut part, &mut text_budget, text_limit)
            .await
            .map_err(|e| e.or_else(malformed))?;
        let Some(field) = Field::from_name(&name) else {
            continue;
        };
        let raw = if is_file {
            Raw::NotText
        } else {
            Raw::Text(String::from_utf8(text).map_err(|_| TimbuError::MalformedBody)?)
        };
        submitted.fields.set(field, raw);
    }
    Ok(submitted)
}

/// Either the request's own problem, or the stream's error to classify.
enum PartError {
    Refused(TimbuError),
    Stream(MultipartError),
}

impl PartError {
    fn or_else(self, classify: impl FnOnce(MultipartError) -> TimbuError) -> TimbuError {
        match self {
            Self::Refused(error) => error,
            Self::Stream(error) => classify(error),
        }
    }
}

impl From<TimbuError> for PartError {
    fn from(error: TimbuError) -> Self {
        Self::Refused(error)
    }
}

impl From<MultipartError> for PartError {
    fn from(error: MultipartError) -> Self {
        Self::Stream(error)
    }
}

/// A part's bytes, charged to the text budget.
async fn read_text(
    part: &mut Part,
    budget: &mut usize,
    limit: usize,
) -> Result<Vec<u8>, PartError> {
    let mut text = Vec::new();
    while let Some(chunk) = part.next().await {
        let chunk = chunk?;
        *budget = budget
            .checked_sub(chunk.len())
            .ok_or(TimbuError::BodyTooLarge { limit })?;
        text.extend_from_slice(&chunk);
    }
    Ok(text)
}

/// Streams the image part to a temporary file once its first bytes show a raster format.
/// An empty part is no image.
async fn read_image(
    part: &mut Part,
    media: &MediaStore,
) -> Result<Option<PendingImage>, PartError> {
    let limit = media.max_bytes();
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    let mut pending: Option<PendingImage> = None;
    let mut size = 0u64;
    while let Some(chunk) = part.next().await {
        let chunk = chunk?;
        size = size.saturating_add(chunk.len() as u64);
        if size > limit {
            return Err(TimbuError::ImageTooLarge { limit }.into());
        }
        match &mut pending {
            Some(image) => image.write(&chunk).await.map_err(storage)?,
            None => {
                head.extend_from_slice(&chunk);
                if head.len() >= SNIFF_BYTES {
                    pending = Some(start(media, &head).await?);
                }
            }
        }
    }
    if pending.is_none() && !head.is_empty() {
        pending = Some(start(media, &head).await?);
    }
    if let Some(image) = &mut pending {
        image.finish().await.map_err(storage)?;
    }
    Ok(pending)
}

/// Decides the format from the first bytes and writes them to a new temporary file.
async fn start(media: &MediaStore, head: &[u8]) -> Result<PendingImage, TimbuError> {
    let kind = ImageKind::sniff(head).ok_or(TimbuError::NotAnImage)?;
    let mut image = media.begin(kind).await.map_err(storage)?;
    image.write(head).await.map_err(storage)?;
    Ok(image)
}

fn storage(error: std::io::Error) -> TimbuError {
    TimbuError::Unexpected(anyhow::Error::new(error).context("could not store an uploaded image"))
}
