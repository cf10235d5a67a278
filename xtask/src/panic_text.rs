//! Blanks the bytes of the banner's wasm that only a panic message reads.
//!
//! The banner's panic handler traps without reading its `PanicInfo`
//! (`crates/consentry-banner/src/lib.rs`), yet stable Rust still links the
//! texts a panic message would print: the source file of every panic
//! location (`/rustc/<commit>/library/alloc/src/raw_vec/mod.rs`, ours),
//! the standard library's allocation-failure messages, and the two-digit
//! table of integer formatting, referenced only by formatting code that
//! binaryen has already removed. Nightly's `-Zlocation-detail=none` and
//! immediate-abort panics drop them; on stable, `dist` overwrites them with
//! zeros (same length, so no address moves) and binaryen's memory packing
//! then leaves the zero runs out of the module: -353 B gzip (the paths and
//! messages -165 B, the digit table the rest).
//!
//! Nothing that runs reads these bytes: a panic location's file name and a
//! panic message are read only to format a panic, and the handler formats
//! nothing. The digit table is different — integer formatting would read it
//! — so it is blanked only when no instruction of the optimised module
//! addresses it (the caller checks the disassembly).

/// What [`blank`] overwrote, in bytes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Blanked {
    /// Source-file names of panic locations and allocation-failure messages.
    pub panic_text: usize,
    /// The integer-formatting digit table (0 when kept).
    pub digit_table: usize,
}

/// Source paths as the wasm build names them (see `reproducible_wasm_rustflags`).
const PATH_PREFIXES: [&[u8]; 3] = [b"/rustc/", b"/cargo/registry/src/", b"crates/"];

/// The standard library's panic messages for allocation and vector failures.
const MESSAGES: [&[u8]; 6] = [
    b"memory allocation of ",
    b" bytes failed",
    b"insertion index (is ",
    b") should be <= len (is ",
    b"Tried to shrink to a larger capacity",
    b"capacity overflow",
];

/// `"00" "01" … "99"`: the table integer formatting reads two digits from.
fn digit_table() -> Vec<u8> {
    (0..100u8).flat_map(|n| [b'0' + n / 10, b'0' + n % 10]).collect()
}

/// One active data segment: its address in linear memory and where its
/// bytes lie in the module.
#[derive(Debug, PartialEq, Eq)]
struct Segment {
    address: u32,
    bytes: std::ops::Range<usize>,
}

fn uleb(wasm: &[u8], at: &mut usize) -> Result<u64, String> {
    let (mut value, mut shift) = (0u64, 0);
    loop {
        let byte = *wasm.get(*at).ok_or("wasm ends inside a number")?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
        shift += 7;
        if shift > 63 {
            return Err("wasm number too long".into());
        }
    }
}

fn sleb(wasm: &[u8], at: &mut usize) -> Result<i64, String> {
    let (mut value, mut shift) = (0i64, 0);
    loop {
        let byte = *wasm.get(*at).ok_or("wasm ends inside a number")?;
        *at += 1;
        value |= i64::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            if shift < 64 && byte & 0x40 != 0 {
                value |= -1 << shift;
            }
            return Ok(value);
        }
        if shift > 63 {
            return Err("wasm number too long".into());
        }
    }
}

/// The active data segments of memory 0 with a constant address; any other
/// kind of segment is left alone.
fn segments(wasm: &[u8]) -> Result<Vec<Segment>, String> {
    if wasm.get(..8) != Some(b"\0asm\x01\0\0\0".as_slice()) {
        return Err("not a wasm module (version 1)".into());
    }
    let mut at = 8;
    let mut out = Vec::new();
    while at < wasm.len() {
        let id = wasm[at];
        at += 1;
        let size = usize::try_from(uleb(wasm, &mut at)?).map_err(|_| "section too large")?;
        let end = at.checked_add(size).filter(|e| *e <= wasm.len()).ok_or("section runs past the module")?;
        if id == 11 {
            let mut p = at;
            for _ in 0..uleb(wasm, &mut p)? {
                let flags = uleb(wasm, &mut p)?;
                let address = if flags == 0 && wasm.get(p) == Some(&0x41) {
                    p += 1;
                    let a = sleb(wasm, &mut p)?;
                    (wasm.get(p) == Some(&0x0b)).then(|| u32::try_from(a).ok()).flatten()
                } else {
                    None
                };
                let Some(address) = address else {
                    return Ok(out); // a kind this module does not use: stop, change nothing more
                };
                p += 1;
                let len = usize::try_from(uleb(wasm, &mut p)?).map_err(|_| "segment too large")?;
                let bytes =
                    p..p.checked_add(len).filter(|e| *e <= end).ok_or("segment runs past its section")?;
                p = bytes.end;
                out.push(Segment { address, bytes });
            }
        }
        at = end;
    }
    Ok(out)
}

fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_./+-".contains(&b)
}

/// Where `needle` occurs in `hay`.
fn find_all<'a>(hay: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    hay.windows(needle.len()).enumerate().filter(move |(_, w)| *w == needle).map(|(i, _)| i)
}

/// The ranges (within `data`) of source paths: a known prefix, path bytes,
/// then `.rs`.
fn paths(data: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    for prefix in PATH_PREFIXES {
        for start in find_all(data, prefix) {
            let rest = &data[start..];
            let Some(len) = find_all(rest, b".rs").next().map(|i| i + 3) else { continue };
            if len <= 300 && rest[..len].iter().all(|b| is_path_byte(*b)) {
                out.push(start..start + len);
            }
        }
    }
    out
}

/// Overwrites with zeros, in the module's data segments, the panic text
/// and — unless `addressed(first, last)` says an instruction uses an
/// address in that range — the digit table.
pub fn blank(wasm: &mut [u8], addressed: impl Fn(u32, u32) -> bool) -> Result<Blanked, String> {
    let table = digit_table();
    let mut blanked = Blanked::default();
    for seg in segments(wasm)? {
        let data = &mut wasm[seg.bytes.clone()];
        let mut ranges = paths(data);
        for message in MESSAGES {
            ranges.extend(find_all(data, message).map(|i| i..i + message.len()));
        }
        for r in ranges {
            blanked.panic_text += data[r.clone()].iter().filter(|b| **b != 0).count();
            data[r].fill(0);
        }
        let found: Vec<usize> = find_all(data, &table).collect();
        for at in found {
            let first = seg.address.saturating_add(u32::try_from(at).map_err(|_| "segment too large")?);
            let last = first.saturating_add(u32::try_from(table.len() - 1).unwrap_or(u32::MAX));
            if !addressed(first, last) {
                data[at..at + table.len()].fill(0);
                blanked.digit_table += table.len();
            }
        }
    }
    Ok(blanked)
}

/// Whether binaryen's text form of a module (`wasm-dis`) has an instruction
/// whose constant or memory offset lies in `first..=last`: code reading a
/// table starts from its address (binaryen folds that constant into the
/// load's offset). Data segments' own addresses are not instructions and
/// are skipped.
pub fn text_addresses(text: &str, first: u32, last: u32) -> bool {
    let (low, high) = (u64::from(first), u64::from(last));
    text.lines().filter(|l| !l.trim_start().starts_with("(data ")).any(|line| {
        ["i32.const ", "offset="].iter().any(|key| {
            line.match_indices(key).any(|(i, _)| {
                let digits: String =
                    line[i + key.len()..].chars().take_while(|c| c.is_ascii_digit()).collect();
                digits.parse::<u64>().is_ok_and(|n| (low..=high).contains(&n))
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module with one data section of one segment at `address`.
    fn module(address: u32, data: &[u8]) -> Vec<u8> {
        let mut seg = vec![1, 0, 0x41];
        let mut a = i64::from(address);
        loop {
            let byte = (a & 0x7f) as u8;
            a >>= 7;
            let done = (a == 0 && byte & 0x40 == 0) || (a == -1 && byte & 0x40 != 0);
            seg.push(if done { byte } else { byte | 0x80 });
            if done {
                break;
            }
        }
        seg.push(0x0b);
        seg.extend(uleb_bytes(data.len()));
        seg.extend_from_slice(data);
        let mut out = b"\0asm\x01\0\0\0".to_vec();
        out.push(11);
        out.extend(uleb_bytes(seg.len()));
        out.extend(seg);
        out
    }

    fn uleb_bytes(mut n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            out.push(if n == 0 { byte } else { byte | 0x80 });
            if n == 0 {
                return out;
            }
        }
    }

    #[test]
    fn blanks_paths_and_messages_and_keeps_the_rest() {
        let data = b"opt-inopt-outcrates/consentry-core/src/consent.rs\0requiredcapacity overflowtrue";
        let mut wasm = module(1_048_576, data);
        let got = blank(&mut wasm, |_, _| false).unwrap();
        let text = String::from_utf8_lossy(&wasm).replace('\0', "|");
        assert!(text.contains("opt-inopt-out|"), "{text}");
        assert!(text.contains("|required||"), "{text}");
        assert!(text.ends_with("|true"), "{text}");
        assert!(!text.contains("consent.rs") && !text.contains("overflow"), "{text}");
        assert_eq!(got, Blanked { panic_text: 36 + 17, digit_table: 0 });
    }

    #[test]
    fn a_path_prefix_without_a_source_file_stays() {
        let data = b"crates/ are listed here, not a file";
        let mut wasm = module(1024, data);
        assert_eq!(blank(&mut wasm, |_, _| false).unwrap(), Blanked::default());
        assert!(wasm.ends_with(data));
    }

    #[test]
    fn the_digit_table_stays_while_an_instruction_addresses_it() {
        let table = digit_table();
        let mut data = b"ab".to_vec();
        data.extend(&table[..100]);
        // A table cut short is not the table: nothing to do.
        let mut wasm = module(2000, &data);
        assert_eq!(blank(&mut wasm, |_, _| false).unwrap(), Blanked::default());
        let mut data = b"ab".to_vec();
        data.extend(&table);
        data.extend(b"cd");
        let mut kept = module(2000, &data);
        let asked = std::cell::Cell::new(None);
        let got = blank(&mut kept, |first, last| {
            asked.set(Some((first, last)));
            true
        });
        assert_eq!(got.unwrap(), Blanked::default());
        assert_eq!(asked.get(), Some((2002, 2201)), "the table's first and last address");
        assert!(kept.ends_with(&data));
        let mut blanked = module(2000, &data);
        assert_eq!(blank(&mut blanked, |_, _| false).unwrap(), Blanked { panic_text: 0, digit_table: 200 });
        let mut expected = b"ab".to_vec();
        expected.extend([0; 200]);
        expected.extend(b"cd");
        assert!(blanked.ends_with(&expected));
        let dis = "(func $f\n (i32.load8_u offset=2002\n  (local.get $0)))\n (data $0 (i32.const 1990) \"\")";
        assert!(text_addresses(dis, 2002, 2201));
        assert!(text_addresses("(i32.const 2201)", 2002, 2201));
        assert!(!text_addresses("(i32.const 2001)", 2002, 2201));
        assert!(!text_addresses(" (data $0 (i32.const 2002) \"\")", 2002, 2201));
        assert!(!text_addresses("(i32.const 2202)\n(i32.const 100)", 2002, 2201));
    }

    #[test]
    fn a_module_that_is_not_wasm_is_an_error() {
        assert!(blank(&mut b"hello".to_vec(), |_, _| false).is_err());
    }
}
