//! Servers the benchmarks start: a free port, waiting until one listens,
//! and running work while one is up.

/// A TCP port free on 127.0.0.1 at the time of asking.
pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// Waits (up to 10 s) until something listens on `addr`.
pub fn wait_for(addr: &str) -> Result<(), String> {
    for _ in 0..200 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Err(format!("the bench server did not start on {addr}"))
}

/// Runs `work` once `server` (stdout discarded) listens on `addr`, then
/// stops the server, whether `work` succeeded or not.
pub fn while_serving<T>(
    server: &mut std::process::Command,
    addr: &str,
    work: impl FnOnce() -> Result<T, String>,
) -> Result<T, String> {
    let mut child = server
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", server.get_program().to_string_lossy()))?;
    let result = wait_for(addr).and_then(|()| work());
    let _ = child.kill();
    let _ = child.wait();
    result
}
