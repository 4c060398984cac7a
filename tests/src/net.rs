//! Local addresses for tests that need a port nothing answers on. A port is
//! never picked, released and hoped for: it stays bound (never listening)
//! while the test uses it, so no other server can take it meanwhile.

use std::net::SocketAddr;

/// A loopback port bound but not listening for as long as this lives:
/// connecting to it is refused, and no other socket can bind it.
pub struct ClosedPort {
    /// Held only to keep the port reserved.
    _socket: tokio::net::TcpSocket,
    addr: SocketAddr,
}

impl ClosedPort {
    /// Reserve a port the system picks on 127.0.0.1.
    pub fn reserve() -> ClosedPort {
        let socket = tokio::net::TcpSocket::new_v4().expect("create a TCP socket");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind 127.0.0.1:0");
        let addr = socket.local_addr().expect("a bound socket has an address");
        ClosedPort {
            _socket: socket,
            addr,
        }
    }

    /// `127.0.0.1:<port>`, where connections are refused.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}
