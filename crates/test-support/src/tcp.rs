//! What the test servers share: an accept loop that serves each connection on its own task,
//! stopped (with every connection) when its handle is dropped, and a bounded wait on what a
//! server recorded.

use std::{future::Future, time::Duration};

use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    task::{JoinHandle, JoinSet},
};

/// A running accept loop; dropping it aborts the loop, whose `JoinSet` aborts every
/// connection.
pub(crate) struct ServerTask(JoinHandle<()>);

impl std::fmt::Debug for ServerTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerTask")
    }
}

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Serves each connection of `listener` with `serve`, each on its own task.
pub(crate) fn spawn_server<F, Fut>(listener: TcpListener, serve: F) -> ServerTask
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    ServerTask(tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        connections.spawn(serve(stream));
                    }
                    // E.g. out of file descriptors: try again shortly.
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    }))
}

/// Waits up to `limit` until the recorded list holds at least `n` items.
pub(crate) async fn wait_for_len<T>(
    recorded: &watch::Sender<Vec<T>>,
    n: usize,
    limit: Duration,
) -> bool {
    let mut receiver = recorded.subscribe();
    let reached = tokio::time::timeout(limit, receiver.wait_for(|items| items.len() >= n)).await;
    matches!(reached, Ok(Ok(_)))
}
