//! Helpers shared by the monitor tests.
#![allow(dead_code)]

/// A blocking `DEBUG SLEEP` on a connection of its own.
pub struct LocalRedisClient(pub u16);

impl LocalRedisClient {
    pub fn debug_sleep(&self, seconds: &str) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.0)).unwrap();
        let cmd = format!(
            "*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n${}\r\n{}\r\n",
            seconds.len(),
            seconds
        );
        s.write_all(cmd.as_bytes()).unwrap();
        let mut buf = [0u8; 16];
        let _ = s.read(&mut buf);
    }
}

/// Runs futures concurrently on the current task.
pub async fn futures_join<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let handles: Vec<_> = futures.map(Box::pin).collect();
    let mut out = Vec::new();
    let mut pending: Vec<Option<_>> = handles.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (i, slot) in pending.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        results[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.extend(results.into_iter().map(Option::unwrap));
    out
}

/// A thread that keeps the server busy with `DEBUG SLEEP seconds` until dropped.
pub struct Sleeper {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sleeper {
    pub fn start(port: u16, seconds: &'static str) -> Sleeper {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let (started, first_sent) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            // One connection for every sleep: no reconnection gap between them.
            use std::io::{Read, Write};
            let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            let cmd = format!(
                "*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n${}\r\n{}\r\n",
                seconds.len(),
                seconds
            );
            let mut buf = [0u8; 16];
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                conn.write_all(cmd.as_bytes()).unwrap();
                let _ = started.send(());
                let _ = conn.read(&mut buf);
            }
        });
        // Return once the first DEBUG SLEEP is on its way.
        let _ = first_sent.recv();
        std::thread::sleep(std::time::Duration::from_millis(10));
        Sleeper {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
