//! XHTML (`application/xhtml+xml`) through an HTML rewriter.
//!
//! lol_html tokenizes as HTML, where `<script>`, `<style>`, `<title>`,
//! `<textarea>`, `<iframe>`, `<noscript>` and a few more hold raw text up to
//! their end tag. In XML a start tag may close itself (`<script src="…"/>`):
//! read as HTML, everything after it would be one script's text, and every
//! tracker in it would pass unseen. This front end, fed the page before the
//! rewriter, writes such a self-closed element as a start and an end tag
//! (`<script src="…"></script>`, the same element to an XML parser) and
//! leaves every other byte as it is. Two things an XML parser reads
//! differently from an HTML one, and that could hide a tracker, end the
//! page with an error instead: a document type with an internal subset
//! (entity declarations expand where the rewriter cannot see), and a
//! raw-text element name not in lower case (`<SCRIPT>` is not a script in
//! XHTML, but lol_html would read its content as one).

/// HTML elements whose content lol_html reads as text.
const RAW_TEXT: &[&[u8]] = &[
    b"script",
    b"style",
    b"textarea",
    b"title",
    b"xmp",
    b"iframe",
    b"noembed",
    b"noframes",
    b"noscript",
    b"plaintext",
];

/// Longest tag name kept (longer ones are no raw-text element anyway).
const MAX_NAME: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    /// After `<`.
    Open,
    /// In a tag name.
    Name,
    /// In a tag, after its name.
    Tag,
    /// After `<!`: which markup declaration follows.
    Bang,
    Comment,
    CData,
    /// `<!DOCTYPE …>` or another declaration.
    Declaration,
    /// `<?…?>`.
    Instruction,
}

/// The streaming front end; see the module docs.
#[derive(Debug)]
pub(crate) struct XmlFront {
    state: State,
    name: Vec<u8>,
    end_tag: bool,
    quote: Option<u8>,
    /// A `/` in a tag, held back until the next byte says whether it closes it.
    slash: bool,
    /// Bytes of a markup declaration's opening seen after `<!`.
    bang: Vec<u8>,
    /// How many of a terminator's bytes (`-->`, `]]>`, `?>`) were just seen.
    run: u8,
}

impl Default for XmlFront {
    fn default() -> Self {
        Self {
            state: State::Text,
            name: Vec::new(),
            end_tag: false,
            quote: None,
            slash: false,
            bang: Vec::new(),
            run: 0,
        }
    }
}

impl XmlFront {
    /// Appends `input`, rewritten, to `out`. An error means the page cannot
    /// be checked; nothing after it may be sent.
    pub(crate) fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        out.reserve(input.len());
        for &b in input {
            self.byte(b, out)?;
        }
        Ok(())
    }

    /// The end of the page: a held-back `/` goes out.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) {
        if std::mem::take(&mut self.slash) {
            out.push(b'/');
        }
    }

    fn byte(&mut self, b: u8, out: &mut Vec<u8>) -> Result<(), String> {
        match self.state {
            State::Text => {
                if b == b'<' {
                    self.state = State::Open;
                }
                out.push(b);
            }
            State::Open => {
                out.push(b);
                self.name.clear();
                self.end_tag = false;
                match b {
                    b'/' => {
                        self.end_tag = true;
                        self.state = State::Name;
                    }
                    b'!' => {
                        self.bang.clear();
                        self.state = State::Bang;
                    }
                    b'?' => {
                        self.run = 0;
                        self.state = State::Instruction;
                    }
                    b if b.is_ascii_alphabetic() => {
                        self.name.push(b);
                        self.state = State::Name;
                    }
                    _ => self.state = State::Text,
                }
            }
            State::Name => {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.') {
                    if self.name.len() < MAX_NAME {
                        self.name.push(b);
                    }
                    out.push(b);
                } else {
                    if self.is_raw_text() && self.name.iter().any(u8::is_ascii_uppercase) {
                        return Err(format!(
                            "the XHTML element <{}> is not HTML's <{}>, but an HTML parser would read its content as text",
                            String::from_utf8_lossy(&self.name),
                            String::from_utf8_lossy(&self.name).to_ascii_lowercase()
                        ));
                    }
                    self.state = State::Tag;
                    self.quote = None;
                    self.slash = false;
                    return self.byte(b, out);
                }
            }
            State::Tag => {
                if let Some(q) = self.quote {
                    if b == q {
                        self.quote = None;
                    }
                    out.push(b);
                    return Ok(());
                }
                if std::mem::take(&mut self.slash) {
                    if b == b'>' {
                        if !self.end_tag && self.is_raw_text() {
                            out.extend_from_slice(b"></");
                            out.extend_from_slice(&self.name);
                            out.push(b'>');
                        } else {
                            out.extend_from_slice(b"/>");
                        }
                        self.state = State::Text;
                        return Ok(());
                    }
                    out.push(b'/');
                }
                match b {
                    b'"' | b'\'' => {
                        self.quote = Some(b);
                        out.push(b);
                    }
                    b'/' => self.slash = true,
                    b'>' => {
                        self.state = State::Text;
                        out.push(b);
                    }
                    _ => out.push(b),
                }
            }
            State::Bang => {
                out.push(b);
                self.bang.push(b);
                let seen = self.bang.as_slice();
                if seen == b"--" {
                    self.run = 0;
                    self.state = State::Comment;
                } else if seen == b"[CDATA[" {
                    self.run = 0;
                    self.state = State::CData;
                } else if !(b"--".starts_with(seen) || b"[CDATA[".starts_with(seen)) {
                    self.quote = None;
                    self.state = State::Declaration;
                    return self.declaration_byte(b);
                }
            }
            State::Comment => {
                out.push(b);
                self.state = terminator(&mut self.run, b, b'-', State::Comment);
            }
            State::CData => {
                out.push(b);
                self.state = terminator(&mut self.run, b, b']', State::CData);
            }
            State::Instruction => {
                out.push(b);
                if b == b'>' && self.run > 0 {
                    self.state = State::Text;
                }
                self.run = u8::from(b == b'?');
            }
            State::Declaration => {
                out.push(b);
                self.declaration_byte(b)?;
            }
        }
        Ok(())
    }

    /// `<!DOCTYPE html PUBLIC "…" "…">`: ends at `>` outside quotes; an
    /// internal subset (`[`) is refused.
    fn declaration_byte(&mut self, b: u8) -> Result<(), String> {
        match (self.quote, b) {
            (Some(q), b) if b == q => self.quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => self.quote = Some(b),
            (None, b'[') => {
                return Err(
                    "an XHTML document type with an internal subset (entity declarations the rewriter \
                            cannot expand) cannot be checked"
                        .to_owned(),
                );
            }
            (None, b'>') => self.state = State::Text,
            _ => {}
        }
        Ok(())
    }

    fn is_raw_text(&self) -> bool {
        RAW_TEXT.iter().any(|r| r.eq_ignore_ascii_case(&self.name))
    }
}

/// Tracks `-->` or `]]>`: `run` counts the `mark` bytes just seen.
fn terminator(run: &mut u8, b: u8, mark: u8, inside: State) -> State {
    if b == b'>' && *run >= 2 {
        *run = 0;
        return State::Text;
    }
    *run = if b == mark { run.saturating_add(1) } else { 0 };
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &str) -> Result<String, String> {
        let mut f = XmlFront::default();
        let mut out = Vec::new();
        f.feed(input.as_bytes(), &mut out)?;
        f.finish(&mut out);
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Fed one byte at a time: the same as fed at once.
    fn run_bytewise(input: &str) -> Result<String, String> {
        let mut f = XmlFront::default();
        let mut out = Vec::new();
        for b in input.as_bytes() {
            f.feed(std::slice::from_ref(b), &mut out)?;
        }
        f.finish(&mut out);
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn self_closed_raw_text_elements_get_an_end_tag() {
        let cases = [
            ("<script src=\"a.js\"/><p>x</p>", "<script src=\"a.js\"></script><p>x</p>"),
            ("<iframe src='f'/>", "<iframe src='f'></iframe>"),
            ("<title/><noscript />", "<title></title><noscript ></noscript>"),
            ("<br/><img src=\"a/b\"/>", "<br/><img src=\"a/b\"/>"),
            ("<script src=\"/x/\" data-a='/>'/>", "<script src=\"/x/\" data-a='/>'></script>"),
            ("<!-- <script/> --><script/>", "<!-- <script/> --><script></script>"),
            ("<![CDATA[ <script/> ]]><style/>", "<![CDATA[ <script/> ]]><style></style>"),
            ("<?xml version=\"1.0\"?><script/>", "<?xml version=\"1.0\"?><script></script>"),
            (
                "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"x.dtd\"><script/>",
                "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"x.dtd\"><script></script>",
            ),
            ("a < b and </p>", "a < b and </p>"),
        ];
        for (input, want) in cases {
            assert_eq!(run(input).as_deref(), Ok(want), "{input}");
            assert_eq!(run_bytewise(input).as_deref(), Ok(want), "{input} byte by byte");
        }
    }

    proptest::proptest! {
        /// However the page is cut into chunks, the same bytes come out; and
        /// only end tags are ever added (taking every `></name>` the front
        /// end wrote back to `/>` gives the input again).
        #[test]
        fn chunking_never_changes_the_output(
            input in "([<>/!?\\[\\]\"'= -]|script|SCRIPT|title|CDATA|DOCTYPE|a|b){0,60}",
            cuts in proptest::collection::vec(0usize..80, 0..6),
        ) {
            let whole = run(&input);
            let mut f = XmlFront::default();
            let mut out = Vec::new();
            let bytes = input.as_bytes();
            let mut points: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            points.push(0);
            points.push(bytes.len());
            points.sort_unstable();
            let mut pieces = Ok(());
            for w in points.windows(2) {
                pieces = pieces.and_then(|()| f.feed(&bytes[w[0]..w[1]], &mut out));
            }
            f.finish(&mut out);
            match (whole, pieces) {
                (Ok(a), Ok(())) => {
                    proptest::prop_assert_eq!(&a, &String::from_utf8_lossy(&out).into_owned());
                    let mut back = a.clone();
                    for name in RAW_TEXT {
                        let name = String::from_utf8_lossy(name);
                        back = back.replace(&format!("></{name}>"), "/>");
                    }
                    let input_back = RAW_TEXT.iter().fold(input.clone(), |acc, name| {
                        acc.replace(&format!("></{}>", String::from_utf8_lossy(name)), "/>")
                    });
                    proptest::prop_assert_eq!(back, input_back);
                }
                (Err(_), Err(_)) => {}
                (a, b) => proptest::prop_assert!(false, "whole: {:?}, in pieces: {:?}", a, b),
            }
        }
    }

    #[test]
    fn what_an_html_parser_would_misread_is_refused() {
        assert!(run("<!DOCTYPE html [<!ENTITY g \"www.googletagmanager.com\">]><html/>").is_err());
        assert!(run("<SCRIPT><img src=\"t\"/></SCRIPT>").is_err());
        assert!(run("<Title>x</Title>").is_err());
        assert!(run("<DIV/>").is_ok());
    }
}
