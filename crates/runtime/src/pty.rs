//! Pseudo-terminals for an exec with a TTY that has no terminal of its own to give the runtime:
//! the server's (the docker CLI's `exec -t`, the dashboard's terminal) and the CLI's own when
//! it runs without one (`strata exec -t` from a script). The slave is the runtime's stdio.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

/// Sets a terminal's window size.
pub fn set_size(fd: &impl AsFd, rows: u16, cols: u16) {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ with a valid descriptor and a live winsize.
    unsafe { libc::ioctl(fd.as_fd().as_raw_fd(), libc::TIOCSWINSZ, &ws) };
}

/// A new pseudo-terminal: (master, slave).
pub fn open_pty(size: Option<(u16, u16)>) -> std::io::Result<(OwnedFd, OwnedFd)> {
    let (mut m, mut s) = (0, 0);
    // SAFETY: openpty fills two descriptors; the optional arguments are null.
    let rc = unsafe {
        libc::openpty(
            &mut m,
            &mut s,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just opened and are owned here.
    let (m, s) = unsafe { (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s)) };
    // Raw: the runtime forwards the container's own terminal, which already translates line
    // ends and echoes; a second cooked layer here would turn each `\n` into `\r\r\n`.
    // SAFETY: termios calls on a descriptor owned here, with a zeroed struct they fill.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(s.as_raw_fd(), &mut t) == 0 {
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(s.as_raw_fd(), libc::TCSANOW, &t);
        }
    }
    if let Some((rows, cols)) = size {
        set_size(&m, rows, cols);
    }
    Ok((m, s))
}
