//! Stored images: recognised by their content, written byte for byte to a temporary file in
//! the media folder while the upload streams, and moved to a random opaque name only once the
//! account's transaction has committed.
//!
//! - The stored type is the name's extension, chosen by this module from the content
//!   (`<32 hex>.png`, `.jpg`, ...): the upload's own name and declared type are never used, and
//!   nothing else needs to be stored beside the file, so every instance sharing the folder
//!   serves it alike.
//! - A temporary file (`.tmp-*.upload`) is removed when its [`PendingImage`] is dropped: on
//!   any error, and when the client goes away mid-upload (the handler's future is dropped).
//! - Its writer holds an exclusive advisory lock on it for its whole life, so the clean-up at
//!   mount removes what a killed process left behind and never an upload another live
//!   instance is writing.

use std::{
    io,
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use tempfile::TempPath;
use tokio::io::AsyncWriteExt;

/// Temporary files are `.tmp-<random>.upload`: never a servable name.
const TEMP_PREFIX: &str = ".tmp-";
const TEMP_SUFFIX: &str = ".upload";
/// A temporary file younger than this is left alone at clean-up: it may be between its
/// creation and its writer's lock.
const TEMP_GRACE: Duration = Duration::from_secs(5);
/// Bytes of an upload read before its type is decided (an AVIF's `ftyp` box fits).
pub const SNIFF_BYTES: usize = 512;

/// The raster formats the contract accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Png,
    Jpeg,
    Gif,
    Webp,
    Bmp,
    Tiff,
    Ico,
    Avif,
}

impl ImageKind {
    const ALL: [Self; 8] = [
        Self::Png,
        Self::Jpeg,
        Self::Gif,
        Self::Webp,
        Self::Bmp,
        Self::Tiff,
        Self::Ico,
        Self::Avif,
    ];

    /// The format of an upload's first bytes (up to [`SNIFF_BYTES`]), by its signature.
    /// `infer`'s matchers, with the short signatures that text can start with (`GIF`, `BM`,
    /// `....WEBP`) held to their full headers.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        use infer::image;
        if image::is_png(head) {
            Some(Self::Png)
        } else if image::is_jpeg(head) {
            Some(Self::Jpeg)
        } else if image::is_gif(head)
            && (head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a"))
        {
            Some(Self::Gif)
        } else if image::is_webp(head) && head.starts_with(b"RIFF") {
            Some(Self::Webp)
        } else if image::is_bmp(head) && is_bmp_header(head) {
            Some(Self::Bmp)
        } else if image::is_tiff(head) {
            Some(Self::Tiff)
        } else if image::is_ico(head) {
            Some(Self::Ico)
        } else if image::is_avif(head) {
            Some(Self::Avif)
        } else {
            None
        }
    }

    /// The extension of the stored name, which records the type.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Gif => "gif",
            Self::Webp => "webp",
            Self::Bmp => "bmp",
            Self::Tiff => "tif",
            Self::Ico => "ico",
            Self::Avif => "avif",
        }
    }

    /// The `Content-Type` it is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
            Self::Bmp => "image/bmp",
            Self::Tiff => "image/tiff",
            Self::Ico => "image/vnd.microsoft.icon",
            Self::Avif => "image/avif",
        }
    }

    fn from_extension(extension: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.extension() == extension)
    }
}

/// `BM`, reserved bytes zero, and a known DIB header size.
fn is_bmp_header(head: &[u8]) -> bool {
    head.len() >= 18
        && head[6..10] == [0, 0, 0, 0]
        && matches!(
            u32::from_le_bytes([head[14], head[15], head[16], head[17]]),
            12 | 40 | 52 | 56 | 64 | 108 | 124
        )
}

/// The media folder and its limit.
#[derive(Debug, Clone)]
pub struct MediaStore {
    dir: PathBuf,
    max_bytes: u64,
}

impl MediaStore {
    /// Creates the folder if needed and removes the temporary files a killed process left.
    pub async fn open(dir: PathBuf, max_bytes: u64) -> anyhow::Result<Self> {
        let store = Self { dir, max_bytes };
        let cleaner = store.clone();
        let removed = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&cleaner.dir)?;
            cleaner.remove_stale_temporaries()
        })
        .await
        .map_err(|e| anyhow::anyhow!("the media clean-up task failed: {e}"))?
        .map_err(|e| anyhow::anyhow!("flavours.timbu.media_dir {}: {e}", store.dir.display()))?;
        if removed > 0 {
            tracing::info!(removed, dir = %store.dir.display(), "Removed stale temporary uploads");
        }
        Ok(store)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Largest image accepted, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Removes `.tmp-*.upload` files whose writer is gone (nobody holds their lock).
    fn remove_stale_temporaries(&self) -> io::Result<usize> {
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !(name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX)) {
                continue;
            }
            let path = entry.path();
            let young = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|modified| SystemTime::now().duration_since(modified).ok())
                .is_none_or(|age| age < TEMP_GRACE);
            if young {
                continue;
            }
            let Ok(file) = std::fs::File::open(&path) else {
                continue;
            };
            if file.try_lock().is_ok() {
                match std::fs::remove_file(&path) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(removed)
    }

    /// Starts storing an upload of `kind`: a locked temporary file in the media folder, and
    /// the random name it will have once published.
    pub async fn begin(&self, kind: ImageKind) -> io::Result<PendingImage> {
        let dir = self.dir.clone();
        let (lock, path) = tokio::task::spawn_blocking(move || -> io::Result<_> {
            let temp = tempfile::Builder::new()
                .prefix(TEMP_PREFIX)
                .suffix(TEMP_SUFFIX)
                .tempfile_in(&dir)?;
            let (file, path) = temp.into_parts();
            file.try_lock().map_err(io::Error::from)?;
            Ok((file, path))
        })
        .await
        .map_err(io::Error::other)??;
        let writer = tokio::fs::File::from_std(lock.try_clone()?);
        Ok(PendingImage {
            name: format!("{}.{}", uuid::Uuid::new_v4().simple(), kind.extension()),
            target: self.dir.clone(),
            kind,
            writer,
            _lock: lock,
            temp: path,
        })
    }

    /// The file and type behind a served name; `None` for anything this module never names.
    pub fn resolve(&self, name: &str) -> Option<(PathBuf, ImageKind)> {
        let (stem, extension) = name.split_once('.')?;
        let opaque = stem.len() == 32
            && stem
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let kind = ImageKind::from_extension(extension)?;
        opaque.then(|| (self.dir.join(name), kind))
    }
}

/// An upload being stored: removed on drop unless published.
#[derive(Debug)]
pub struct PendingImage {
    name: String,
    target: PathBuf,
    kind: ImageKind,
    writer: tokio::fs::File,
    /// Holds the advisory lock for as long as the temporary file exists.
    _lock: std::fs::File,
    temp: TempPath,
}

impl PendingImage {
    /// The name it will be served under once published.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> ImageKind {
        self.kind
    }

    pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes).await
    }

    /// Every byte written and on disk, before the account's transaction.
    pub async fn finish(&mut self) -> io::Result<()> {
        self.writer.flush().await?;
        self.writer.sync_data().await
    }

    /// Moves the file to its name, atomically and never over another file.
    pub async fn publish(self) -> io::Result<()> {
        let Self {
            name,
            target,
            temp,
            writer,
            _lock,
            ..
        } = self;
        drop(writer);
        tokio::task::spawn_blocking(move || {
            let result = temp
                .persist_noclobber(target.join(&name))
                .map_err(|e| e.error);
            drop(_lock);
            result
        })
        .await
        .map_err(io::Error::other)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_recognised_by_their_signatures_only() {
        let mut bmp = b"BM\x46\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0".to_vec();
        bmp.resize(70, 0);
        let mut avif = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf".to_vec();
        avif.resize(64, 0);
        let cases: &[(&[u8], Option<ImageKind>)] = &[
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Some(ImageKind::Png)),
            (b"\xff\xd8\xff\xe0\0\x10JFIF", Some(ImageKind::Jpeg)),
            (b"GIF89a\x01\0\x01\0", Some(ImageKind::Gif)),
            (b"RIFF\x24\0\0\0WEBPVP8 ", Some(ImageKind::Webp)),
            (&bmp, Some(ImageKind::Bmp)),
            (b"II*\0\x08\0\0\0\0\0\0\0", Some(ImageKind::Tiff)),
            (b"\0\0\x01\0\x01\0\x10\x10", Some(ImageKind::Ico)),
            (&avif, Some(ImageKind::Avif)),
            (b"GIF is a format", None),
            (b"BMW is a car maker, not a bitmap", None),
            (b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>", None),
            (b"<!doctype html><html></html>", None),
            (b"%PDF-1.7\n", None),
            (b"plain text", None),
            (b"", None),
        ];
        for (head, kind) in cases {
            assert_eq!(
                ImageKind::sniff(head),
                *kind,
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
    }

    #[test]
    fn only_names_this_module_mints_resolve() {
        let store = MediaStore {
            dir: PathBuf::from("/media"),
            max_bytes: 10,
        };
        let name = format!("{}.png", uuid::Uuid::new_v4().simple());
        assert_eq!(
            store.resolve(&name),
            Some((PathBuf::from("/media").join(&name), ImageKind::Png))
        );
        for bad in [
            "..",
            "../etc/passwd",
            ".tmp-abc.upload",
            "0123456789abcdef0123456789abcdef.svg",
            "0123456789ABCDEF0123456789ABCDEF.png",
            "0123456789abcdef0123456789abcdef.png.png",
            "0123456789abcdef0123456789abcde.png",
            "",
        ] {
            assert_eq!(store.resolve(bad), None, "{bad}");
        }
    }
}
