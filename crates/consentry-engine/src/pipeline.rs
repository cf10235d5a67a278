//! What a page body goes through before and in the rewriter: its
//! `Content-Encoding` undone, its charset made one lol_html can read, and —
//! for a response without a `Content-Type` — the browser's own sniffing rule
//! deciding whether it is a page at all.
//!
//! The rewriter must see the document the browser will parse, or a tracker
//! hides from it: a gzip page read as bytes, a UTF-16 page read as UTF-8, a
//! typeless page taken for data would all pass ungated. Every stage here
//! mirrors a browser's: `gzip`/`x-gzip`, `deflate` (zlib, or raw deflate as
//! Chromium also accepts), `br` and `zstd` are decoded; a byte-order mark
//! outranks the declared charset; non-ASCII-compatible charsets (UTF-16)
//! are transcoded to UTF-8.

use bytes::Bytes;
use encoding_rs::Encoding;
use http::HeaderMap;
use http::header::CONTENT_ENCODING;

use crate::BoxError;
use crate::rewrite::Rewriter;

/// Input is fed to the decoders this many bytes at a time.
pub(crate) const FEED: usize = 4096;

/// A decoder stops once one step has produced this much: the rest of its
/// input (or of its output, for a decoder that holds more) waits for the
/// next step, after this piece has been rewritten and sent. However well a
/// body compresses (a few KB of zstd or brotli can stand for gigabytes),
/// memory per response stays bounded.
pub(crate) const STEP: usize = 256 * 1024;

/// The most a compressed page may decode to, by default: past it the
/// response is ended with an error, as for any page the layer cannot read
/// whole (see `EngineBuilder::max_decoded_body`).
pub const DEFAULT_MAX_DECODED_BODY: u64 = 256 * 1024 * 1024;

/// How many leading bytes a browser looks at to sniff a typeless response
/// (WHATWG MIME Sniffing, "resource header").
const SNIFF_LEN: usize = 1445;

/// A `Content-Encoding` the layer can undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Identity,
    Gzip,
    Deflate,
    Brotli,
    Zstd,
}

impl Coding {
    /// The one coding a response's `Content-Encoding` headers name, or why
    /// it cannot be undone (an unknown coding, or codings stacked).
    pub(crate) fn of(headers: &HeaderMap) -> Result<Self, String> {
        let mut found = Self::Identity;
        for value in headers.get_all(CONTENT_ENCODING) {
            let value = value.to_str().map_err(|_| "a Content-Encoding that is not ASCII".to_owned())?;
            for token in value.split(',').map(str::trim) {
                let coding = match token.to_ascii_lowercase().as_str() {
                    "" | "identity" => continue,
                    "gzip" | "x-gzip" => Self::Gzip,
                    "deflate" => Self::Deflate,
                    "br" => Self::Brotli,
                    "zstd" => Self::Zstd,
                    _ => return Err(format!("Content-Encoding `{token}` is not one the layer can decode")),
                };
                if found != Self::Identity {
                    return Err(format!("stacked Content-Encoding `{value}`"));
                }
                found = coding;
            }
        }
        Ok(found)
    }
}

/// A streaming decoder for one [`Coding`].
enum Decompressor {
    Gzip(flate2::write::MultiGzDecoder<Vec<u8>>),
    /// `deflate` before its first two bytes tell zlib from raw deflate.
    DeflateStart(Vec<u8>),
    Zlib(flate2::write::ZlibDecoder<Vec<u8>>),
    RawDeflate(flate2::write::DeflateDecoder<Vec<u8>>),
    Brotli(Box<BrotliDecoder>),
    Zstd(Box<ZstdDecoder>),
}

type BrotliState = brotli_decompressor::BrotliState<
    brotli_decompressor::StandardAlloc,
    brotli_decompressor::StandardAlloc,
    brotli_decompressor::StandardAlloc,
>;

/// brotli through its raw interface, which stops when its output buffer is
/// full and says whether more is to come without more input.
struct BrotliDecoder {
    state: BrotliState,
    buf: Vec<u8>,
    /// Output is waiting in the decoder (the last step stopped at `STEP`).
    more: bool,
    /// The stream's end was read.
    ended: bool,
}

impl BrotliDecoder {
    /// Decodes from `input` until it is used up or `out` holds `cap` bytes;
    /// returns how much input was used.
    fn run(&mut self, input: &[u8], out: &mut Vec<u8>, cap: usize) -> Result<usize, BoxError> {
        use brotli_decompressor::BrotliResult;
        let mut used = 0;
        loop {
            if self.ended {
                return if used < input.len() {
                    Err("data after the end of a brotli body".into())
                } else {
                    Ok(used)
                };
            }
            let mut available_in = input.len() - used;
            let mut available_out = self.buf.len();
            let (mut written, mut total) = (0, 0);
            let result = brotli_decompressor::BrotliDecompressStream(
                &mut available_in,
                &mut used,
                input,
                &mut available_out,
                &mut written,
                &mut self.buf,
                &mut total,
                &mut self.state,
            );
            out.extend_from_slice(self.buf.get(..written).unwrap_or_default());
            self.more = false;
            match result {
                BrotliResult::ResultFailure => return Err("a corrupt brotli body".into()),
                BrotliResult::ResultSuccess => self.ended = true,
                BrotliResult::NeedsMoreInput => return Ok(used),
                BrotliResult::NeedsMoreOutput if out.len() >= cap => {
                    self.more = true;
                    return Ok(used);
                }
                BrotliResult::NeedsMoreOutput => {}
            }
        }
    }
}

/// zstd through its raw interface, which tells whether a frame is complete
/// (the `Write` adapter accepts a stream cut at a block boundary).
struct ZstdDecoder {
    raw: zstd::stream::raw::Decoder<'static>,
    /// What the last call said it still needs: zero between frames.
    remaining: usize,
    buf: Vec<u8>,
    /// Output may be waiting in the decoder (the last step stopped at `STEP`
    /// with its buffer full).
    more: bool,
}

impl ZstdDecoder {
    /// Decodes from `input` until it is used up (and the decoder has nothing
    /// more to give) or `out` holds `cap` bytes; returns how much was used.
    fn run(&mut self, input: &[u8], out: &mut Vec<u8>, cap: usize) -> std::io::Result<usize> {
        use zstd::stream::raw::Operation as _;
        let mut used = 0;
        loop {
            let status = self.raw.run_on_buffers(input.get(used..).unwrap_or_default(), &mut self.buf)?;
            out.extend_from_slice(self.buf.get(..status.bytes_written).unwrap_or_default());
            used += status.bytes_read;
            if status.bytes_read > 0 || status.bytes_written > 0 {
                self.remaining = status.remaining;
            }
            let full = status.bytes_written == self.buf.len();
            self.more = false;
            if used == input.len() && !full {
                return Ok(used);
            }
            if out.len() >= cap {
                self.more = full;
                return Ok(used);
            }
        }
    }
}

/// Feeds a `flate2` write-side decoder one `write` at a time (each decodes at
/// most its own 32 KiB buffer's worth) until the input is used up or `cap`
/// bytes are out; returns how much input was used.
fn write_bounded<W>(d: &mut W, input: &[u8], out: &mut Vec<u8>, cap: usize) -> Result<usize, BoxError>
where
    W: std::io::Write + DecoderSink,
{
    let mut used = 0;
    while used < input.len() && out.len() + d.sink().len() < cap {
        match d.write(&input[used..])? {
            0 => return Err("data after the end of a compressed body".into()),
            n => used += n,
        }
    }
    out.append(d.sink());
    Ok(used)
}

/// The `Vec` a `flate2` write-side decoder writes into.
trait DecoderSink {
    fn sink(&mut self) -> &mut Vec<u8>;
}

impl DecoderSink for flate2::write::MultiGzDecoder<Vec<u8>> {
    fn sink(&mut self) -> &mut Vec<u8> {
        self.get_mut()
    }
}

impl DecoderSink for flate2::write::ZlibDecoder<Vec<u8>> {
    fn sink(&mut self) -> &mut Vec<u8> {
        self.get_mut()
    }
}

impl DecoderSink for flate2::write::DeflateDecoder<Vec<u8>> {
    fn sink(&mut self) -> &mut Vec<u8> {
        self.get_mut()
    }
}

/// A zlib stream starts with a header whose first byte names deflate and
/// whose first two bytes, big-endian, are a multiple of 31 (RFC 1950).
fn is_zlib_header(b: [u8; 2]) -> bool {
    b[0] & 0x0f == 8 && (u16::from(b[0]) << 8 | u16::from(b[1])) % 31 == 0
}

impl Decompressor {
    fn new(coding: Coding) -> Result<Option<Self>, BoxError> {
        Ok(Some(match coding {
            Coding::Identity => return Ok(None),
            Coding::Gzip => Self::Gzip(flate2::write::MultiGzDecoder::new(Vec::new())),
            Coding::Deflate => Self::DeflateStart(Vec::with_capacity(2)),
            Coding::Brotli => Self::Brotli(Box::new(BrotliDecoder {
                state: BrotliState::new(
                    brotli_decompressor::StandardAlloc::default(),
                    brotli_decompressor::StandardAlloc::default(),
                    brotli_decompressor::StandardAlloc::default(),
                ),
                buf: vec![0; 32 * 1024],
                more: false,
                ended: false,
            })),
            Coding::Zstd => Self::Zstd(Box::new(ZstdDecoder {
                raw: zstd::stream::raw::Decoder::new()?,
                remaining: 0,
                buf: vec![0; 32 * 1024],
                more: false,
            })),
        }))
    }

    /// Decodes from `input`, appending what it yields to `out`, until the
    /// input is used up or `out` holds `cap` bytes; returns how much input
    /// was used (the rest is to be given again).
    fn push(&mut self, input: &[u8], out: &mut Vec<u8>, cap: usize) -> Result<usize, BoxError> {
        if let Self::DeflateStart(head) = self {
            let before = head.len();
            head.extend_from_slice(input);
            let [a, b, ..] = head[..] else { return Ok(input.len()) };
            let head = std::mem::take(head);
            *self = if is_zlib_header([a, b]) {
                Self::Zlib(flate2::write::ZlibDecoder::new(Vec::new()))
            } else {
                Self::RawDeflate(flate2::write::DeflateDecoder::new(Vec::new()))
            };
            // The bytes held from before come first.
            return Ok(self.push(&head, out, cap)?.saturating_sub(before));
        }
        match self {
            Self::DeflateStart(_) => Ok(input.len()),
            Self::Gzip(d) => write_bounded(d, input, out, cap),
            Self::Zlib(d) => write_bounded(d, input, out, cap),
            Self::RawDeflate(d) => write_bounded(d, input, out, cap),
            Self::Brotli(d) => d.run(input, out, cap),
            Self::Zstd(d) => Ok(d.run(input, out, cap)?),
        }
    }

    /// Whether output is waiting in the decoder, to be had without input.
    fn has_more(&self) -> bool {
        match self {
            Self::Brotli(d) => d.more,
            Self::Zstd(d) => d.more,
            _ => false,
        }
    }

    /// Ends the stream: a truncated or corrupt one is an error, never a
    /// silently shortened page.
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), BoxError> {
        let sink = match self {
            Self::DeflateStart(head) if head.is_empty() => return Ok(()),
            Self::DeflateStart(_) => return Err("a deflate body of one byte".into()),
            Self::Gzip(d) => {
                d.try_finish()?;
                d.get_mut()
            }
            Self::Zlib(d) => {
                d.try_finish()?;
                d.get_mut()
            }
            Self::RawDeflate(d) => {
                d.try_finish()?;
                d.get_mut()
            }
            Self::Brotli(d) => {
                d.run(&[], out, usize::MAX)?;
                return if d.ended { Ok(()) } else { Err("a truncated brotli body".into()) };
            }
            Self::Zstd(d) => {
                d.run(&[], out, usize::MAX)?;
                return if d.remaining == 0 { Ok(()) } else { Err("a truncated zstd body".into()) };
            }
        };
        out.append(sink);
        Ok(())
    }
}

/// The rewriter's construction, delayed until the first bytes decided how
/// to read the page.
pub(crate) type MakeRewriter = Box<dyn FnOnce(&'static Encoding) -> Rewriter + Send>;

/// How the first bytes are to be judged.
enum Start {
    /// A page in an ASCII-compatible charset: a byte-order mark may still
    /// overrule it.
    Page { label: &'static Encoding, make: MakeRewriter },
    /// No `Content-Type`: HTML if a browser would sniff it as HTML.
    Sniff { make: MakeRewriter },
}

/// One response body's way through decoding, transcoding and rewriting.
pub(crate) struct Pipeline {
    decompressor: Option<Decompressor>,
    /// Until the first bytes are judged: what came so far, and how to judge.
    start: Option<(Vec<u8>, Start)>,
    /// Decodes a charset lol_html cannot read (UTF-16) into UTF-8.
    transcoder: Option<encoding_rs::Decoder>,
    /// `None` once sniffing found no page: the bytes pass on decoded.
    rewriter: Option<Rewriter>,
    /// Bytes decoded so far, and the most allowed.
    decoded_total: u64,
    max_decoded: u64,
}

impl Pipeline {
    /// A page declared as HTML with this charset (`label`).
    pub(crate) fn page(
        coding: Coding,
        label: &'static Encoding,
        make: MakeRewriter,
    ) -> Result<Self, BoxError> {
        let decompressor = Decompressor::new(coding)?;
        if label.is_ascii_compatible() {
            return Ok(Self {
                decompressor,
                start: Some((Vec::new(), Start::Page { label, make })),
                transcoder: None,
                rewriter: None,
                decoded_total: 0,
                max_decoded: DEFAULT_MAX_DECODED_BODY,
            });
        }
        // UTF-16 (or another charset lol_html cannot read): decoded as the
        // browser would (a byte-order mark wins), rewritten as UTF-8, which
        // the response's `Content-Type` then declares.
        Ok(Self {
            decompressor,
            start: None,
            transcoder: Some(label.new_decoder()),
            rewriter: Some(make(encoding_rs::UTF_8)),
            decoded_total: 0,
            max_decoded: DEFAULT_MAX_DECODED_BODY,
        })
    }

    /// A response without a `Content-Type`.
    pub(crate) fn sniff(coding: Coding, make: MakeRewriter) -> Result<Self, BoxError> {
        Ok(Self {
            decompressor: Decompressor::new(coding)?,
            start: Some((Vec::new(), Start::Sniff { make })),
            transcoder: None,
            rewriter: None,
            decoded_total: 0,
            max_decoded: DEFAULT_MAX_DECODED_BODY,
        })
    }

    /// A compressed page may decode to at most `bytes`; past it the body
    /// ends with an error.
    pub(crate) fn max_decoded(mut self, bytes: u64) -> Self {
        self.max_decoded = bytes;
        self
    }

    /// How much input [`push`](Self::push) should get at a time: a bounded
    /// slice when decompressing, else whole chunks.
    pub(crate) fn feed_size(&self) -> usize {
        if self.decompressor.is_some() { FEED } else { usize::MAX }
    }

    /// Whether the decoder holds output to be had without more input: the
    /// body asks for it (`push(&[])`) before reading on.
    pub(crate) fn has_more(&self) -> bool {
        self.decompressor.as_ref().is_some_and(Decompressor::has_more)
    }

    /// Feeds bytes of the body as it arrived; returns how many were used
    /// (a decoder that produced a step's worth stops early: give the rest
    /// again) and what is ready to send.
    pub(crate) fn push(&mut self, input: &[u8]) -> Result<(usize, Bytes), BoxError> {
        if self.decompressor.is_none() && self.start.is_none() && self.transcoder.is_none() {
            // The common case, a plain page: straight to the rewriter.
            let out = match &mut self.rewriter {
                Some(r) => r.write(input)?,
                None => Bytes::copy_from_slice(input),
            };
            return Ok((input.len(), out));
        }
        let mut out = Vec::new();
        let used = match &mut self.decompressor {
            Some(d) => {
                let mut decoded = Vec::new();
                let used = d.push(input, &mut decoded, STEP)?;
                self.count(decoded.len())?;
                self.decoded(&decoded, false, &mut out)?;
                used
            }
            None => {
                self.decoded(input, false, &mut out)?;
                input.len()
            }
        };
        Ok((used, Bytes::from(out)))
    }

    /// Counts decoded bytes against the limit.
    fn count(&mut self, n: usize) -> Result<(), BoxError> {
        self.decoded_total = self.decoded_total.saturating_add(n as u64);
        if self.decoded_total > self.max_decoded {
            return Err(format!(
                "the page decodes to more than {} bytes (a decompression bomb, or a page over the limit)",
                self.max_decoded
            )
            .into());
        }
        Ok(())
    }

    /// Ends the body; returns the last bytes.
    pub(crate) fn finish(&mut self) -> Result<Bytes, BoxError> {
        let mut decoded = Vec::new();
        if let Some(d) = &mut self.decompressor {
            d.finish(&mut decoded)?;
        }
        self.count(decoded.len())?;
        let mut out = Vec::new();
        self.decoded(&decoded, true, &mut out)?;
        if let Some(r) = &mut self.rewriter {
            out.extend_from_slice(&r.end()?);
        }
        Ok(Bytes::from(out))
    }

    /// Takes decoded bytes through judging, transcoding and rewriting.
    fn decoded(&mut self, bytes: &[u8], last: bool, out: &mut Vec<u8>) -> Result<(), BoxError> {
        let held;
        let bytes = if let Some((buf, _)) = &mut self.start {
            buf.extend_from_slice(bytes);
            match self.judge(last, out) {
                Some(judged) => {
                    held = judged;
                    &held[..]
                }
                None => return Ok(()),
            }
        } else {
            bytes
        };
        let utf8;
        let bytes = match &mut self.transcoder {
            Some(t) => {
                utf8 = transcode(t, bytes, last);
                &utf8[..]
            }
            None => bytes,
        };
        match &mut self.rewriter {
            Some(r) => out.extend_from_slice(&r.write(bytes)?),
            None => out.extend_from_slice(bytes),
        }
        Ok(())
    }

    /// Judges the first bytes once enough have come (or the body ended):
    /// sets the rewriter and transcoder, and returns the bytes held so far.
    fn judge(&mut self, last: bool, out: &mut Vec<u8>) -> Option<Vec<u8>> {
        let (buf, start) = self.start.as_ref()?;
        let needed = match start {
            Start::Page { .. } => 3,
            Start::Sniff { .. } => SNIFF_LEN,
        };
        if buf.len() < needed && !last {
            return None;
        }
        let (buf, start) = self.start.take()?;
        match start {
            Start::Page { label, make } => match Encoding::for_bom(&buf) {
                Some((bom, _)) if !bom.is_ascii_compatible() => {
                    // A UTF-16 byte-order mark outranks the declared charset
                    // in every browser: read the page as UTF-16, send it as
                    // UTF-8 behind a UTF-8 mark (which outranks it too).
                    out.extend_from_slice(b"\xEF\xBB\xBF");
                    self.transcoder = Some(bom.new_decoder_with_bom_removal());
                    self.rewriter = Some(make(encoding_rs::UTF_8));
                }
                Some((bom, _)) => self.rewriter = Some(make(bom)),
                None => self.rewriter = Some(make(label)),
            },
            Start::Sniff { make } => {
                if sniffs_as_html(buf.get(..SNIFF_LEN).unwrap_or(&buf)) {
                    self.rewriter = Some(make(encoding_rs::UTF_8));
                }
            }
        }
        Some(buf)
    }
}

/// Decodes `src` to UTF-8 (malformed sequences become U+FFFD, as in a browser).
fn transcode(t: &mut encoding_rs::Decoder, src: &[u8], last: bool) -> Vec<u8> {
    let mut out = vec![0u8; t.max_utf8_buffer_length(src.len()).unwrap_or(src.len() * 3 + 16)];
    let (_, read, written, _) = t.decode_to_utf8(src, &mut out, last);
    debug_assert_eq!(read, src.len());
    out.truncate(written);
    out
}

/// Whether a browser would sniff a typeless response starting with `bytes`
/// as HTML (WHATWG MIME Sniffing, "identify an unknown MIME type": leading
/// whitespace, then one of these, case-insensitively, then a space or `>`).
pub(crate) fn sniffs_as_html(bytes: &[u8]) -> bool {
    const PATTERNS: [&[u8]; 17] = [
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<script",
        b"<iframe",
        b"<h1",
        b"<div",
        b"<font",
        b"<table",
        b"<a",
        b"<style",
        b"<title",
        b"<b",
        b"<body",
        b"<br",
        b"<p",
        b"<!--",
    ];
    let start = bytes.iter().position(|b| !matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' '));
    let Some(rest) = start.and_then(|s| bytes.get(s..)) else { return false };
    PATTERNS.iter().any(|p| {
        rest.len() > p.len()
            && rest[..p.len()].eq_ignore_ascii_case(p)
            && matches!(rest[p.len()], b' ' | b'>')
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use proptest::prelude::*;

    use super::*;

    fn decode(coding: Coding, encoded: &[u8], cuts: &[usize]) -> Result<Vec<u8>, BoxError> {
        decode_in_steps(coding, encoded, cuts, STEP).map(|(out, _)| out)
    }

    /// Decodes as the body does: each piece given until it is used up and
    /// the decoder holds nothing more, `cap` bytes a step at most. Returns
    /// the output and the largest step.
    fn decode_in_steps(
        coding: Coding,
        encoded: &[u8],
        cuts: &[usize],
        cap: usize,
    ) -> Result<(Vec<u8>, usize), BoxError> {
        fn feed(
            d: &mut Decompressor,
            mut piece: &[u8],
            cap: usize,
            out: &mut Vec<u8>,
            largest: &mut usize,
        ) -> Result<(), BoxError> {
            loop {
                let mut step = Vec::new();
                let used = d.push(piece, &mut step, cap)?;
                *largest = (*largest).max(step.len());
                out.extend_from_slice(&step);
                piece = &piece[used..];
                if piece.is_empty() && !d.has_more() {
                    return Ok(());
                }
            }
        }
        let mut d = Decompressor::new(coding)?.ok_or("identity")?;
        let (mut out, mut largest) = (Vec::new(), 0);
        let mut rest = encoded;
        for &cut in cuts {
            let (piece, tail) = rest.split_at(cut.min(rest.len()));
            feed(&mut d, piece, cap, &mut out, &mut largest)?;
            rest = tail;
        }
        feed(&mut d, rest, cap, &mut out, &mut largest)?;
        d.finish(&mut out)?;
        Ok((out, largest))
    }

    #[test]
    fn each_step_of_a_highly_compressed_body_is_bounded() {
        // 64 MiB of one byte: a few KB compressed.
        let page = vec![b'a'; 64 * 1024 * 1024];
        for coding in [Coding::Gzip, Coding::Deflate, Coding::Zstd] {
            let encoded = encode(coding, &page);
            let (out, largest) = decode_in_steps(coding, &encoded, &[], 64 * 1024).unwrap();
            assert_eq!(out.len(), page.len(), "{coding:?}");
            // A step stops at the cap, give or take one decoder buffer.
            assert!(largest <= 64 * 1024 + 32 * 1024, "{coding:?}: a step of {largest} bytes");
        }
    }

    fn encode(coding: Coding, data: &[u8]) -> Vec<u8> {
        match coding {
            Coding::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                let _ = e.write_all(data);
                e.finish().unwrap_or_default()
            }
            Coding::Deflate => {
                let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
                let _ = e.write_all(data);
                e.finish().unwrap_or_default()
            }
            Coding::Zstd => zstd::stream::encode_all(data, 1).unwrap_or_default(),
            Coding::Brotli | Coding::Identity => data.to_vec(),
        }
    }

    #[test]
    fn content_encoding_headers_name_one_coding_or_a_reason() {
        let h = |values: &[&'static str]| {
            let mut m = HeaderMap::new();
            for v in values {
                m.append(CONTENT_ENCODING, http::HeaderValue::from_static(v));
            }
            Coding::of(&m)
        };
        assert_eq!(h(&[]), Ok(Coding::Identity));
        assert_eq!(h(&["identity"]), Ok(Coding::Identity));
        assert_eq!(h(&["GZIP"]), Ok(Coding::Gzip));
        assert_eq!(h(&["x-gzip"]), Ok(Coding::Gzip));
        assert_eq!(h(&["identity, br"]), Ok(Coding::Brotli));
        assert_eq!(h(&[" zstd "]), Ok(Coding::Zstd));
        assert!(h(&["compress"]).is_err_and(|e| e.contains("`compress`")));
        assert!(h(&["gzip, br"]).is_err_and(|e| e.contains("stacked")));
        assert!(h(&["gzip", "gzip"]).is_err());
    }

    #[test]
    fn raw_deflate_is_told_from_zlib_by_its_header() {
        assert!(is_zlib_header([0x78, 0x9c]));
        assert!(is_zlib_header([0x78, 0x01]));
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        let _ = e.write_all(b"<html>raw deflate</html>");
        let raw = e.finish().unwrap_or_default();
        assert_eq!(
            decode(Coding::Deflate, &raw, &[1, 1]).ok().as_deref(),
            Some(&b"<html>raw deflate</html>"[..])
        );
    }

    #[test]
    fn sniffing_follows_the_whatwg_html_patterns() {
        for yes in [
            "<!DOCTYPE HTML>",
            "  \n\t<html lang=en>",
            "<Script src=x>",
            "<!-- c -->",
            "<p>",
            "<b>x",
            "<a href=x>",
        ] {
            assert!(sniffs_as_html(yes.as_bytes()), "{yes}");
        }
        for no in [
            "",
            "   ",
            "<html",
            "<pre>",
            "<?xml version=1.0?><html>",
            "{\"a\": \"<html>\"}",
            "\u{feff}<html>",
            "x<html>",
        ] {
            assert!(!sniffs_as_html(no.as_bytes()), "{no}");
        }
    }

    proptest! {
        #[test]
        fn decoding_in_any_pieces_gives_back_the_bytes(
            data in proptest::collection::vec(any::<u8>(), 0..3000),
            cuts in proptest::collection::vec(0usize..700, 0..6),
            coding in prop_oneof![Just(Coding::Gzip), Just(Coding::Deflate), Just(Coding::Zstd)],
        ) {
            let encoded = encode(coding, &data);
            prop_assert_eq!(decode(coding, &encoded, &cuts).ok(), Some(data));
        }

        #[test]
        fn arbitrary_bytes_never_panic_a_decoder(
            data in proptest::collection::vec(any::<u8>(), 0..600),
            coding in prop_oneof![Just(Coding::Gzip), Just(Coding::Deflate), Just(Coding::Zstd), Just(Coding::Brotli)],
        ) {
            let _ = decode(coding, &data, &[7, 100]);
        }

        #[test]
        fn sniffing_any_bytes_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = sniffs_as_html(&data);
        }
    }
}
