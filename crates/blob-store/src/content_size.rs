//! A layer's size as Docker reports it, from its tar headers: what moby's `directory.Size`
//! finds in the unpacked layer, the sizes of every non-directory entry (a symlink's is the
//! length of its target) summed, a hardlinked file counted once, an entry replaced by a later
//! one of the same name not counted.

use std::collections::HashMap;

/// Accumulates the size over a layer's entries, in tar order.
#[derive(Default)]
pub(crate) struct ContentSize {
    /// Each path present, with the file ("inode") it names.
    names: HashMap<String, usize>,
    /// Size of each file.
    inodes: Vec<u64>,
}

impl ContentSize {
    /// One entry: its type flag, name, data size (the real size for sparse files) and link
    /// target (raw bytes).
    pub(crate) fn entry(&mut self, kind: u8, name: &str, size: u64, link: &[u8]) {
        let name = clean(name);
        if name.is_empty() {
            return;
        }
        match kind {
            b'1' => {
                // A hardlink shares its target's file; to nothing known, it counts as nothing.
                let target = String::from_utf8_lossy(link);
                match self.names.get(clean(&target)).copied() {
                    Some(inode) => {
                        self.names.insert(name.to_string(), inode);
                    }
                    None => {
                        self.names.remove(name);
                    }
                }
            }
            b'5' => {
                self.names.remove(name);
            }
            _ => {
                let size = match kind {
                    b'0' | 0 | b'7' | b'S' => size,
                    b'2' => link.len() as u64,
                    _ => 0, // devices and fifos
                };
                self.inodes.push(size);
                self.names.insert(name.to_string(), self.inodes.len() - 1);
            }
        }
    }

    /// The total so far.
    pub(crate) fn total(&self) -> u64 {
        let mut seen = vec![false; self.inodes.len()];
        let mut total = 0u64;
        for &i in self.names.values() {
            if !std::mem::replace(&mut seen[i], true) {
                total = total.saturating_add(self.inodes[i]);
            }
        }
        total
    }
}

/// The name as a path relative to the root: no `./` or `/` in front, none behind.
fn clean(name: &str) -> &str {
    let mut n = name;
    loop {
        if let Some(rest) = n.strip_prefix("./") {
            n = rest;
        } else if let Some(rest) = n.strip_prefix('/') {
            n = rest;
        } else {
            break;
        }
    }
    let n = n.trim_end_matches('/');
    if n == "." {
        ""
    } else {
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_files_symlinks_and_hardlinked_content_once() {
        let mut c = ContentSize::default();
        c.entry(b'5', "bin/", 0, b"");
        c.entry(b'0', "./bin/busybox", 1000, b"");
        c.entry(b'1', "bin/sh", 0, b"bin/busybox");
        c.entry(b'1', "bin/ls", 0, b"./bin/busybox");
        c.entry(b'2', "bin/link", 0, b"busybox");
        c.entry(b'3', "dev/null", 0, b"");
        c.entry(b'0', "etc/.wh.passwd", 0, b"");
        assert_eq!(c.total(), 1000 + 7);
        // a later entry of the same name replaces the earlier one
        c.entry(b'0', "bin/link", 5, b"");
        assert_eq!(c.total(), 1000 + 5);
        // the links keep the content when the first name goes
        c.entry(b'5', "bin/busybox", 0, b"");
        assert_eq!(c.total(), 1000 + 5);
    }
}
