//! The `.npy` header: its framing (magic, version, length, padding to 64 bytes) and the Python
//! dict literal inside it (`descr`, `fortran_order`, `shape`), read by a small recursive-descent
//! parser of Python literals and written for every dtype arrstore stores. The format is
//! described in the module above.

use std::fmt::Write as _;
use std::io::Read;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::limits::MAX_NDIM;

use super::{bad, read_full, SUPPORTED};

/// The first six bytes of every `.npy` file.
pub(super) const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// NumPy aligns the start of the data to this many bytes.
pub(super) const ALIGN: usize = 64;

/// The deepest nesting of tuples, lists and dicts the header parser follows (real headers nest
/// at most a few levels; the limit keeps a hostile header from exhausting the stack).
const MAX_DEPTH: usize = 32;

/// What the header says about the data.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Header {
    pub(super) dtype: DType,
    /// The data's bytes are big-endian.
    pub(super) big_endian: bool,
    /// The data is in Fortran order.
    pub(super) fortran: bool,
    pub(super) shape: Vec<usize>,
}

/// Reads the magic, version, header length and header, and parses the header.
pub(super) fn read_header<R: Read>(reader: &mut R) -> Result<Header> {
    parse_header(&read_header_text(reader)?)
}

/// Reads the magic, version, header length and the header's text.
pub(super) fn read_header_text<R: Read>(reader: &mut R) -> Result<String> {
    let mut prefix = [0u8; 8];
    let got = read_full(reader, &mut prefix)?;
    let present = prefix.get(..got).unwrap_or(&[]);
    let start = present.get(..MAGIC.len()).unwrap_or(present);
    if !MAGIC.starts_with(start) {
        return Err(bad(format!(
            "not an .npy file: it starts with b\"{}\", not the magic b\"\\x93NUMPY\"",
            start.escape_ascii()
        )));
    }
    if got < prefix.len() {
        return Err(bad(format!(
            "the file ends after {got} bytes, inside the 8-byte magic and version"
        )));
    }
    let [.., major, minor] = prefix;
    let length_bytes = match (major, minor) {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        _ => {
            return Err(bad(format!(
                "format version {major}.{minor} is not supported (1.0, 2.0 and 3.0 are)"
            )))
        }
    };
    let mut length = [0u8; 4];
    let length_slice = &mut length[..length_bytes];
    if read_full(reader, length_slice)? < length_bytes {
        return Err(bad("the file ends inside the header length"));
    }
    let header_len = u32::from_le_bytes(length);
    let wanted = usize::try_from(header_len)
        .map_err(|_| bad(format!("header length {header_len} does not fit in memory")))?;
    // `take` + `read_to_end` grows the buffer only as bytes arrive: a lying length cannot make
    // it allocate more than the file holds.
    let mut raw = Vec::new();
    reader.take(u64::from(header_len)).read_to_end(&mut raw)?;
    if raw.len() < wanted {
        return Err(bad(format!(
            "the header is {wanted} bytes long, but the file ends after {} of them",
            raw.len()
        )));
    }
    let text = if major == 3 {
        String::from_utf8(raw).map_err(|e| bad(format!("the version 3.0 header is not UTF-8: {e}")))?
    } else {
        // Latin-1: every byte is the code point of the same value.
        raw.iter().map(|&b| char::from(b)).collect()
    };
    Ok(text)
}

/// Parses the header text: a Python dict literal with the keys `descr`, `fortran_order`,
/// `shape`, followed by nothing but whitespace.
pub(super) fn parse_header(text: &str) -> Result<Header> {
    let mut parser = Parser { text, pos: 0 };
    let entries = parser.top_dict()?;
    parser.skip_space();
    if parser.pos < text.len() {
        return Err(parser.error("unexpected text after the header dict"));
    }
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    for (key, value, raw) in entries {
        let slot = match key.as_str() {
            "descr" => &mut descr,
            "fortran_order" => &mut fortran,
            "shape" => &mut shape,
            _ => {
                return Err(bad(format!(
                    "the header has the unexpected key '{key}' (an .npy header has exactly \
                     'descr', 'fortran_order' and 'shape')"
                )))
            }
        };
        if slot.replace((value, raw)).is_some() {
            return Err(bad(format!("the header has the key '{key}' twice")));
        }
    }
    let missing = |key: &str| bad(format!("the header has no '{key}' key"));
    let (descr, descr_raw) = descr.ok_or_else(|| missing("descr"))?;
    let (fortran, fortran_raw) = fortran.ok_or_else(|| missing("fortran_order"))?;
    let (shape, shape_raw) = shape.ok_or_else(|| missing("shape"))?;

    let (dtype, big_endian) = match descr {
        Lit::Str(s) => parse_descr(&s)?,
        Lit::List(_) => {
            return Err(bad(format!(
                "dtype {descr_raw} (structured) is not supported; {SUPPORTED}"
            )))
        }
        _ => return Err(bad(format!("'descr' is {descr_raw}, not a dtype string"))),
    };
    let fortran = match fortran {
        Lit::Bool(b) => b,
        _ => {
            return Err(bad(format!(
                "'fortran_order' is {fortran_raw}, not True or False"
            )))
        }
    };
    let shape = match shape {
        Lit::Tuple(items) | Lit::List(items) => items
            .into_iter()
            .map(|item| match item {
                Lit::Int(n) => usize::try_from(n)
                    .map_err(|_| bad(format!("shape {shape_raw} has the invalid axis length {n}"))),
                _ => Err(bad(format!("shape {shape_raw} is not a tuple of integers"))),
            })
            .collect::<Result<Vec<usize>>>()?,
        _ => return Err(bad(format!("shape {shape_raw} is not a tuple of integers"))),
    };
    if shape.len() > MAX_NDIM {
        return Err(bad(format!(
            "the shape has {} axes, more than the {MAX_NDIM} NumPy and arrstore allow",
            shape.len()
        )));
    }
    Ok(Header {
        dtype,
        big_endian,
        fortran,
        shape,
    })
}

/// Parses a dtype string such as `<f8` into the dtype and whether its bytes are big-endian.
pub(super) fn parse_descr(descr: &str) -> Result<(DType, bool)> {
    let native_big = cfg!(target_endian = "big");
    let (big_endian, body) = match descr.as_bytes().first() {
        Some(b'<') => (false, descr.get(1..).unwrap_or("")),
        Some(b'>') => (true, descr.get(1..).unwrap_or("")),
        Some(b'|' | b'=') => (native_big, descr.get(1..).unwrap_or("")),
        _ => (native_big, descr),
    };
    let dtype = match body {
        "b1" | "?" => DType::Bool,
        "i1" => DType::I8,
        "i2" => DType::I16,
        "i4" => DType::I32,
        "i8" => DType::I64,
        "u1" => DType::U8,
        "u2" => DType::U16,
        "u4" => DType::U32,
        "u8" => DType::U64,
        "f4" => DType::F32,
        "f8" => DType::F64,
        _ => {
            return Err(bad(format!(
                "dtype '{descr}' ({}) is not supported; {SUPPORTED}",
                describe_descr(body)
            )))
        }
    };
    Ok((dtype, big_endian))
}

/// What kind of element an unsupported dtype string (without its byte order) describes.
pub(super) fn describe_descr(body: &str) -> &'static str {
    match body.as_bytes().first() {
        Some(b'c' | b'F' | b'D' | b'G') => "complex",
        Some(b'e') => "float16",
        Some(b'f') if body == "f2" => "float16",
        Some(b'f' | b'd' | b'g') => "float of an unsupported size",
        Some(b'i' | b'u') => "integer of an unsupported size",
        Some(b'b') => "bool of an unsupported size",
        Some(b'U') => "Unicode string",
        Some(b'S' | b'a') => "byte string",
        Some(b'V') => "raw bytes",
        Some(b'O') => "Python object",
        Some(b'M') => "datetime64",
        Some(b'm') => "timedelta64",
        _ => "unknown dtype",
    }
}

/// A Python literal, as far as `.npy` headers use them.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Lit {
    Str(String),
    Bool(bool),
    None,
    Int(i128),
    Tuple(Vec<Lit>),
    List(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
}

/// A recursive-descent parser of Python literals over the header text.
pub(super) struct Parser<'a> {
    pub(super) text: &'a str,
    /// Byte offset of the next character (always at a char boundary: the parser only steps
    /// over ASCII bytes or whole characters).
    pub(super) pos: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> Error {
        let rest: String = self.text.get(self.pos..).unwrap_or("").chars().take(20).collect();
        bad(format!(
            "the header is not a valid Python dict: {what} at byte {} (near {rest:?}); the \
             header is {:?}",
            self.pos,
            self.text.chars().take(200).collect::<String>()
        ))
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')) {
            self.pos += 1;
        }
    }

    /// Skips spaces and consumes `c` if it is next.
    fn eat(&mut self, c: u8) -> bool {
        self.skip_space();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// The top-level dict: entries with string keys, each with the raw text of its value.
    fn top_dict(&mut self) -> Result<Vec<(String, Lit, String)>> {
        if !self.eat(b'{') {
            return Err(self.error("expected '{'"));
        }
        let mut entries = Vec::new();
        loop {
            if self.eat(b'}') {
                return Ok(entries);
            }
            let key = match self.value(1)? {
                Lit::Str(s) => s,
                _ => return Err(self.error("a key that is not a string")),
            };
            if !self.eat(b':') {
                return Err(self.error("expected ':'"));
            }
            self.skip_space();
            let start = self.pos;
            let value = self.value(1)?;
            let raw = self.text.get(start..self.pos).unwrap_or("").to_string();
            entries.push((key, value, raw));
            if !self.eat(b',') {
                if self.eat(b'}') {
                    return Ok(entries);
                }
                return Err(self.error("expected ',' or '}'"));
            }
        }
    }

    /// One literal; `depth` counts the enclosing brackets.
    fn value(&mut self, depth: usize) -> Result<Lit> {
        if depth > MAX_DEPTH {
            return Err(self.error("brackets nested too deeply"));
        }
        self.skip_space();
        match self.peek() {
            Some(q @ (b'\'' | b'"')) => self.string(q),
            Some(b'(') => {
                self.pos += 1;
                let (items, trailing_comma) = self.items(b')', depth)?;
                // `(x)` is just `x`; `(x,)` and `()` are tuples.
                match <[Lit; 1]>::try_from(items) {
                    Ok([one]) if !trailing_comma => Ok(one),
                    Ok([one]) => Ok(Lit::Tuple(vec![one])),
                    Err(items) => Ok(Lit::Tuple(items)),
                }
            }
            Some(b'[') => {
                self.pos += 1;
                Ok(Lit::List(self.items(b']', depth)?.0))
            }
            Some(b'{') => {
                self.pos += 1;
                let mut entries = Vec::new();
                loop {
                    if self.eat(b'}') {
                        return Ok(Lit::Dict(entries));
                    }
                    let key = self.value(depth + 1)?;
                    if !self.eat(b':') {
                        return Err(self.error("expected ':'"));
                    }
                    entries.push((key, self.value(depth + 1)?));
                    if !self.eat(b',') {
                        if self.eat(b'}') {
                            return Ok(Lit::Dict(entries));
                        }
                        return Err(self.error("expected ',' or '}'"));
                    }
                }
            }
            Some(b'0'..=b'9' | b'-' | b'+') => self.int(),
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.pos;
                while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_') {
                    self.pos += 1;
                }
                match self.text.get(start..self.pos) {
                    Some("True") => Ok(Lit::Bool(true)),
                    Some("False") => Ok(Lit::Bool(false)),
                    Some("None") => Ok(Lit::None),
                    _ => {
                        self.pos = start;
                        Err(self.error("a name that is not True, False or None"))
                    }
                }
            }
            Some(_) => Err(self.error("unexpected character")),
            None => Err(self.error("unexpected end")),
        }
    }

    /// Comma-separated literals up to `close`; also says whether a comma preceded `close`.
    fn items(&mut self, close: u8, depth: usize) -> Result<(Vec<Lit>, bool)> {
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Ok((items, true));
            }
            items.push(self.value(depth + 1)?);
            if !self.eat(b',') {
                if self.eat(close) {
                    return Ok((items, false));
                }
                return Err(self.error(&format!("expected ',' or '{}'", char::from(close))));
            }
        }
    }

    /// A quoted string (with `\\`, `\'`, `\"`, `\n`, `\t` escapes) starting at the quote `q`.
    fn string(&mut self, quote: u8) -> Result<Lit> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let rest = self.text.get(self.pos..).unwrap_or("");
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                _ if c == char::from(quote) => {
                    self.pos += i + 1;
                    return Ok(Lit::Str(out));
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, e)) => out.push(e),
                    None => break,
                },
                '\n' => break,
                c => out.push(c),
            }
        }
        self.pos = start;
        Err(self.error("a string without its closing quote"))
    }

    /// An integer with an optional sign and an optional Python 2 `L` suffix.
    fn int(&mut self) -> Result<Lit> {
        let start = self.pos;
        if matches!(self.peek(), Some(b'-' | b'+')) {
            self.pos += 1;
        }
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        let digits = self.text.get(start..self.pos).unwrap_or("");
        let value = digits.parse::<i128>();
        if matches!(self.peek(), Some(b'L' | b'l')) {
            self.pos += 1;
        }
        match value {
            Ok(v) => Ok(Lit::Int(v)),
            Err(_) => {
                self.pos = start;
                Err(self.error("an integer that is malformed or too large"))
            }
        }
    }
}

/// The shape as the message of an error shows it.
pub(super) fn shape_text(shape: &[usize]) -> String {
    format!("{shape:?}")
}

/// The little-endian `descr` NumPy writes for a dtype.
pub(super) fn descr_of(dtype: DType) -> &'static str {
    match dtype {
        DType::Bool => "|b1",
        DType::I8 => "|i1",
        DType::I16 => "<i2",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::U8 => "|u1",
        DType::U16 => "<u2",
        DType::U32 => "<u4",
        DType::U64 => "<u8",
        DType::F32 => "<f4",
        DType::F64 => "<f8",
    }
}

/// The magic, version, header length and padded header for an array.
pub(crate) fn header_bytes(dtype: DType, shape: &[usize], fortran: bool) -> Result<Vec<u8>> {
    header_bytes_for(descr_of(dtype), shape, fortran)
}

pub(super) fn header_bytes_for(descr: &str, shape: &[usize], fortran: bool) -> Result<Vec<u8>> {
    if shape.len() > MAX_NDIM {
        return Err(bad(format!(
            "an array of {} axes cannot be written: NumPy reads at most {MAX_NDIM}",
            shape.len()
        )));
    }
    let mut dict = format!(
        "{{'descr': '{}', 'fortran_order': {}, 'shape': (",
        descr,
        if fortran { "True" } else { "False" }
    );
    for (i, n) in shape.iter().enumerate() {
        if i > 0 {
            dict.push_str(", ");
        }
        // Writing to a String cannot fail.
        let _ = write!(dict, "{n}");
    }
    if shape.len() == 1 {
        dict.push(',');
    }
    dict.push_str("), }");
    for (major, length_bytes) in [(1u8, 2usize), (2, 4)] {
        let unpadded = MAGIC.len() + 2 + length_bytes + dict.len() + 1;
        let padding = (ALIGN - unpadded % ALIGN) % ALIGN;
        let header_len = dict.len() + padding + 1;
        let length: Option<Vec<u8>> = if length_bytes == 2 {
            u16::try_from(header_len).ok().map(|l| l.to_le_bytes().to_vec())
        } else {
            u32::try_from(header_len).ok().map(|l| l.to_le_bytes().to_vec())
        };
        if let Some(length) = length {
            let mut out = Vec::with_capacity(unpadded + padding);
            out.extend_from_slice(MAGIC);
            out.extend_from_slice(&[major, 0]);
            out.extend_from_slice(&length);
            out.extend_from_slice(dict.as_bytes());
            out.resize(out.len() + padding, b' ');
            out.push(b'\n');
            return Ok(out);
        }
    }
    Err(bad(format!(
        "the header of a {}-axis array is {} bytes, too long even for version 2.0",
        shape.len(),
        dict.len()
    )))
}

/// Reads a 0-d byte-string array (dtype `|S<n>`, as SciPy stores the `format` of a sparse
/// matrix in an `.npz`), returning its bytes without the trailing NULs.
pub(crate) fn read_npy_bytes_from<R: Read>(mut reader: R) -> Result<Vec<u8>> {
    let text = read_header_text(&mut reader)?;
    let mut parser = Parser { text: &text, pos: 0 };
    let entries = parser.top_dict()?;
    let mut width = None;
    let mut scalar = false;
    for (key, value, raw) in entries {
        match (key.as_str(), value) {
            ("descr", Lit::Str(d)) => {
                width = d
                    .strip_prefix("|S")
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|&n| n <= 1 << 16);
                if width.is_none() {
                    return Err(bad(format!(
                        "expected a byte string (dtype '|S<n>'), found {raw}"
                    )));
                }
            }
            ("shape", Lit::Tuple(items) | Lit::List(items)) => scalar = items.is_empty(),
            _ => {}
        }
    }
    let width = width.ok_or_else(|| bad("the header has no 'descr' key"))?;
    if !scalar {
        return Err(bad("expected a 0-d byte string"));
    }
    let mut buf = vec![0u8; width];
    if read_full(&mut reader, &mut buf)? < width {
        return Err(bad(format!(
            "the data ends before the {width} bytes of the string"
        )));
    }
    while buf.last() == Some(&0) {
        buf.pop();
    }
    Ok(buf)
}
