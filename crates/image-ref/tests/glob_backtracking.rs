//! Timing guard for the reference glob matcher. It lives outside `src/` because it needs a
//! thread and a clock, which the pure crate's own code must never mention.

/// Stars are matched chunk by chunk: patterns of many stars against long names that almost
/// match finish at once (the old recursive matcher took time exponential in the stars).
#[test]
fn path_match_does_not_backtrack_exponentially() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let name = "a".repeat(4000);
        let got = [
            image_ref::path_match(&format!("{}b", "a*".repeat(40)), &name),
            image_ref::path_match(&format!("{}b", "*a".repeat(500)), &name),
            image_ref::path_match(&"*a".repeat(500), &name),
            image_ref::path_match(
                &format!("{}/x", "*a".repeat(30)),
                &format!("{}/y", "a".repeat(100)),
            ),
        ];
        let _ = tx.send(got);
    });
    let got = rx
        .recv_timeout(std::time::Duration::from_secs(5))
        .expect("still matching after 5 s: the matcher backtracks");
    assert_eq!(got, [Ok(false), Ok(false), Ok(true), Ok(false)]);
}
