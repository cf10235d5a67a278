//! The banner's browser files, served under the prefix.
//!
//! Each file is served twice: at `{prefix}{hash}/{name}` with immutable
//! caching (what injected pages reference; the hash covers every file, so
//! the JS glue's relative import of its `.wasm` stays within one version),
//! and at `{prefix}{name}` with `Cache-Control: no-cache` for static sites
//! whose script tag cannot know the hash.

use std::collections::BTreeMap;
use std::path::Path;

use bytes::Bytes;

/// Built-in stylesheet of the server-rendered banner (light and dark themes
/// through CSS custom properties).
pub const BUILTIN_CSS: &str = include_str!("../assets/consentry.css");

#[derive(Debug, Clone)]
pub(crate) struct Asset {
    pub bytes: Bytes,
    pub content_type: &'static str,
}

/// A set of browser files to serve.
#[derive(Debug, Clone)]
pub struct Assets {
    files: BTreeMap<String, Asset>,
    hash: String,
}

/// Content type by file extension; `None` for files that are not served.
fn content_type(name: &str) -> Option<&'static str> {
    let ext = name.rsplit('.').next()?;
    Some(match ext {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "ts" => "text/plain; charset=utf-8",
        "map" => "application/json",
        _ => return None,
    })
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

impl Assets {
    /// Only the built-in stylesheet.
    pub fn builtin() -> Self {
        let mut a = Self { files: BTreeMap::new(), hash: String::new() };
        a.files.insert(
            "consentry.css".to_owned(),
            Asset {
                bytes: Bytes::from_static(BUILTIN_CSS.as_bytes()),
                content_type: "text/css; charset=utf-8",
            },
        );
        a.rehash();
        a
    }

    /// The built-in stylesheet plus every `.js`, `.wasm`, `.css`, `.json`
    /// and `.d.ts` file directly in `dir` (e.g. the output of
    /// `cargo xtask dist`, `www/dist/`). A `consentry.css` there replaces the
    /// built-in one.
    pub fn from_dir(dir: impl AsRef<Path>) -> std::io::Result<Self> {
        let mut assets = Self::builtin();
        for entry in std::fs::read_dir(dir.as_ref())? {
            let entry = entry?;
            if !entry.file_type()?.is_file() {
                continue;
            }
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
            if let (true, Some(ct)) = (valid_name(&name), content_type(&name)) {
                let bytes = std::fs::read(entry.path())?;
                assets.files.insert(name, Asset { bytes: Bytes::from(bytes), content_type: ct });
            }
        }
        assets.rehash();
        Ok(assets)
    }

    /// Adds or replaces one file (name must be a plain file name with a
    /// known extension; others are ignored).
    pub fn with_file(mut self, name: &str, bytes: impl Into<Bytes>) -> Self {
        if let (true, Some(ct)) = (valid_name(name), content_type(name)) {
            self.files.insert(name.to_owned(), Asset { bytes: bytes.into(), content_type: ct });
            self.rehash();
        }
        self
    }

    fn rehash(&mut self) {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for (name, a) in &self.files {
            h.update(name.as_bytes());
            h.update([0]);
            h.update(&a.bytes);
        }
        self.hash = crate::hex(&h.finalize()[..5]);
    }

    /// The content hash naming this version of the files.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The immutable URL of `name`, if present.
    pub fn url(&self, prefix: &str, name: &str) -> Option<String> {
        self.files.contains_key(name).then(|| format!("{prefix}{}/{name}", self.hash))
    }

    /// The bytes and content type of `name`, if present: for serving these
    /// files from a route or a CDN of one's own.
    pub fn file(&self, name: &str) -> Option<(&Bytes, &'static str)> {
        self.files.get(name).map(|a| (&a.bytes, a.content_type))
    }
}
