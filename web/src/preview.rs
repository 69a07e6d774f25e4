//! How the dashboard shows a file's bytes: as text when they are UTF-8 without NULs, else as
//! a hex dump of the first bytes (`hexdump -C` style), both cut at a limit.

use std::fmt::Write;

/// The text shown for `bytes`, at most `limit` bytes of them.
pub fn preview(bytes: &[u8], limit: usize) -> String {
    let head = &bytes[..bytes.len().min(limit)];
    let more = bytes.len() - head.len();
    let tail = |out: &mut String| {
        if more > 0 {
            let _ = write!(out, "\n… {more} more bytes not shown");
        }
    };
    // a cut inside a multi-byte character is still text
    let text = match std::str::from_utf8(head) {
        Ok(t) => Some(t),
        Err(e) if more > 0 && e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).ok()
        }
        Err(_) => None,
    };
    if let Some(t) = text.filter(|t| !t.contains('\0')) {
        let mut out = t.to_string();
        tail(&mut out);
        return out;
    }
    let shown = &head[..head.len().min(HEX_LIMIT)];
    let more = bytes.len() - shown.len();
    let mut out = format!("binary file, {} bytes\n", bytes.len());
    for (i, row) in shown.chunks(16).enumerate() {
        let _ = write!(out, "{:08x} ", i * 16);
        for (j, b) in row.iter().enumerate() {
            let gap = if j == 8 { "  " } else { " " };
            let _ = write!(out, "{gap}{b:02x}");
        }
        let pad = (16 - row.len()) * 3 + usize::from(row.len() <= 8);
        out.push_str(&" ".repeat(pad));
        out.push_str("  |");
        out.extend(row.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        }));
        out.push_str("|\n");
    }
    if more > 0 {
        let _ = write!(out, "… {more} more bytes not shown");
    }
    out.trim_end().to_string()
}

/// Bytes of a binary file shown as hex.
const HEX_LIMIT: usize = 512;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_shown_as_is_up_to_the_limit() {
        assert_eq!(preview(b"root:x:0:0\n", 100), "root:x:0:0\n");
        assert_eq!(preview(b"abcdef", 4), "abcd\n… 2 more bytes not shown");
        // é is two bytes: a cut between them keeps the text before it
        assert_eq!(preview("aé".as_bytes(), 2), "a\n… 1 more bytes not shown");
    }

    #[test]
    fn binary_is_a_hex_dump_like_hexdump_c() {
        let elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0";
        assert_eq!(
            preview(elf, 100),
            "binary file, 20 bytes\n\
             00000000  7f 45 4c 46 02 01 01 00  00 00 00 00 00 00 00 00  |.ELF............|\n\
             00000010  03 00 3e 00                                       |..>.|"
        );
        let big = vec![0u8; 2000];
        let p = preview(&big, 1 << 20);
        assert_eq!(p.lines().count(), 1 + 32 + 1, "{p}");
        assert!(p.ends_with("… 1488 more bytes not shown"), "{p}");
    }
}
