//! [`BodyRewrite`]: a page's body rewritten as it streams, driven by the
//! host's body type one chunk of `Bytes` at a time.

use bytes::{Bytes, BytesMut};

use crate::BoxError;
use crate::pipeline::Pipeline;

/// The rewrite of one page's body: give it the original body's chunks as
/// they arrive, take the rewritten pieces out, and end it when the original
/// ends. Memory stays flat: one chunk waiting, plus the decoder's and
/// lol_html's bounded buffers.
///
/// The protocol: after [`give`](Self::give), call [`next_piece`](Self::next_piece)
/// until it returns `None` (it wants more input), then give the next chunk;
/// when the original body is over, [`end`](Self::end) returns the rest.
pub struct BodyRewrite {
    pipeline: Box<Pipeline>,
    /// Input given but not taken by the pipeline yet.
    pending: Bytes,
}

impl std::fmt::Debug for BodyRewrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyRewrite").field("pending", &self.pending.len()).finish_non_exhaustive()
    }
}

impl BodyRewrite {
    pub(crate) fn new(pipeline: Pipeline) -> Self {
        Self { pipeline: Box::new(pipeline), pending: Bytes::new() }
    }

    /// Hands the next chunk of the original body over.
    pub fn give(&mut self, chunk: Bytes) {
        if self.pending.is_empty() {
            self.pending = chunk;
        } else {
            // Given again before `next` drained it: keep both, in order.
            let mut both = BytesMut::with_capacity(self.pending.len() + chunk.len());
            both.extend_from_slice(&self.pending);
            both.extend_from_slice(&chunk);
            self.pending = both.freeze();
        }
    }

    /// The next rewritten piece of what was given, or `None` when the
    /// rewrite needs more input.
    ///
    /// # Errors
    ///
    /// The page cannot be rewritten safely (a tag past lol_html's limit, a
    /// body that decodes past the configured maximum, a corrupt encoding): the
    /// response must end in an error, never go on ungated.
    pub fn next_piece(&mut self) -> Result<Option<Bytes>, BoxError> {
        while !self.pending.is_empty() || self.pipeline.has_more() {
            let piece = self.pending.slice(..self.pending.len().min(self.pipeline.feed_size()));
            let (used, out) = self.pipeline.push(&piece)?;
            let _ = self.pending.split_to(used.min(self.pending.len()));
            if !out.is_empty() {
                return Ok(Some(out));
            }
            if used == 0 && !self.pipeline.has_more() && !self.pending.is_empty() {
                return Err("the page's decoder stopped making progress".into());
            }
        }
        Ok(None)
    }

    /// The original body is over: the rest of the rewritten page (what the
    /// decoder and the rewriter still held, the banner if it was not placed
    /// yet).
    ///
    /// # Errors
    ///
    /// As for [`next_piece`](Self::next_piece); also a compressed body that was cut short.
    pub fn end(&mut self) -> Result<Bytes, BoxError> {
        let mut rest = BytesMut::new();
        while let Some(piece) = self.next_piece()? {
            rest.extend_from_slice(&piece);
        }
        let last = self.pipeline.finish()?;
        if rest.is_empty() {
            return Ok(last);
        }
        rest.extend_from_slice(&last);
        Ok(rest.freeze())
    }

    /// Whether nothing given is still waiting to be rewritten.
    pub fn is_drained(&self) -> bool {
        self.pending.is_empty()
    }
}
