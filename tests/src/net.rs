//! Local addresses for tests that need a port nothing answers on, and a TCP
//! proxy a test can cut to make a server unreachable. A port is
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

/// A TCP forwarder in front of a server (the database) that a test can cut
/// — every open connection dropped, every new one closed at once, as when a
/// network link dies — and restore.
pub struct CuttableProxy {
    addr: SocketAddr,
    state: std::sync::Arc<ProxyState>,
    accept: tokio::task::JoinHandle<()>,
}

struct ProxyState {
    cut: std::sync::atomic::AtomicBool,
    /// Cancelled on a cut: ends the connections opened before it.
    connections: std::sync::Mutex<tokio_util::sync::CancellationToken>,
}

impl ProxyState {
    fn connections(&self) -> std::sync::MutexGuard<'_, tokio_util::sync::CancellationToken> {
        self.connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl CuttableProxy {
    /// Forward 127.0.0.1:<some port> to `target`.
    pub async fn start(target: SocketAddr) -> CuttableProxy {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let state = std::sync::Arc::new(ProxyState {
            cut: std::sync::atomic::AtomicBool::new(false),
            connections: std::sync::Mutex::new(tokio_util::sync::CancellationToken::new()),
        });
        let shared = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if shared.cut.load(Ordering::SeqCst) {
                    continue;
                }
                let cut = shared.connections().clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = cut.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    }
                });
            }
        });
        CuttableProxy {
            addr,
            state,
            accept,
        }
    }

    /// A proxy in front of the server of the PostgreSQL `url`, and `url`
    /// pointing at the proxy instead.
    pub async fn in_front_of_postgres(url: &str) -> (CuttableProxy, String) {
        let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
        let (userinfo, rest) = match rest.split_once('@') {
            Some((userinfo, rest)) => (format!("{userinfo}@"), rest),
            None => (String::new(), rest),
        };
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let authority = if authority.contains(':') {
            authority.to_string()
        } else {
            format!("{authority}:5432")
        };
        let target = tokio::net::lookup_host(&authority)
            .await
            .expect("resolve the database host")
            .next()
            .expect("the database host has an address");
        let proxy = CuttableProxy::start(target).await;
        let proxied = format!("{scheme}://{userinfo}{}{path}", proxy.addr());
        (proxy, proxied)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Drop every connection and refuse new ones until [`Self::restore`].
    pub fn cut(&self) {
        self.state
            .cut
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.state.connections().cancel();
    }

    /// Forward again.
    pub fn restore(&self) {
        *self.state.connections() = tokio_util::sync::CancellationToken::new();
        self.state
            .cut
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for CuttableProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}
