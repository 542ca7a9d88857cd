//! A per-server cap on queries per second (config `max_qps_per_server`): every query to a
//! server reserves the next free start time, at least `1 / qps` after the one before it,
//! and waits until then. Servers do not wait for each other.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Start times per server; no cap at all when built with 0.
#[derive(Debug)]
pub struct RateLimit {
    interval: Option<Duration>,
    next: Mutex<HashMap<SocketAddr, Instant>>,
}

impl RateLimit {
    /// At most `qps` queries per second start toward one server; 0: no cap.
    pub fn per_second(qps: u32) -> Self {
        RateLimit {
            interval: (qps > 0).then(|| Duration::from_secs(1) / qps),
            next: Mutex::new(HashMap::new()),
        }
    }

    /// Reserves the next start time toward `server`, at or after `now`.
    fn reserve(&self, server: SocketAddr, now: Instant) -> Instant {
        let Some(interval) = self.interval else {
            return now;
        };
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let slot = next.entry(server).or_insert(now);
        let at = (*slot).max(now);
        *slot = at + interval;
        at
    }

    /// Waits until a query to `server` may start.
    pub async fn wait(&self, server: SocketAddr) {
        if self.interval.is_none() {
            return;
        }
        let now = Instant::now();
        let at = self.reserve(server, now);
        if at > now {
            tokio::time::sleep_until(at).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(last: u8) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, last], 53))
    }

    /// Starts `n` queries to `server` at once; the virtual time each one was let through.
    async fn starts(
        limit: &std::sync::Arc<RateLimit>,
        server: SocketAddr,
        n: usize,
    ) -> Vec<Duration> {
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let limit = limit.clone();
                tokio::spawn(async move {
                    limit.wait(server).await;
                    t0.elapsed()
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out.sort();
        out
    }

    #[tokio::test(start_paused = true)]
    async fn queries_to_one_server_are_spaced_by_the_cap() {
        let limit = std::sync::Arc::new(RateLimit::per_second(10));
        let at = starts(&limit, addr(1), 5).await;
        // 10 per second: one at once, then one every 100 ms.
        let want: Vec<Duration> = (0..5).map(|i| Duration::from_millis(100 * i)).collect();
        assert_eq!(at, want);
        // 20 queries take 1.9 s: never more than 10 start in any second.
        let at = starts(&limit, addr(2), 20).await;
        assert_eq!(at.last(), Some(&Duration::from_millis(1900)));
        for w in at.windows(11) {
            assert!(w[10] - w[0] >= Duration::from_secs(1), "{w:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn servers_do_not_wait_for_each_other() {
        let limit = std::sync::Arc::new(RateLimit::per_second(2));
        let (a, b) = tokio::join!(starts(&limit, addr(1), 3), starts(&limit, addr(2), 3));
        let want = vec![
            Duration::ZERO,
            Duration::from_millis(500),
            Duration::from_millis(1000),
        ];
        assert_eq!((a, b), (want.clone(), want));
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_server_starts_at_once_and_an_idle_gap_is_not_saved_up() {
        let limit = std::sync::Arc::new(RateLimit::per_second(4));
        assert_eq!(starts(&limit, addr(1), 1).await, vec![Duration::ZERO]);
        tokio::time::sleep(Duration::from_secs(10)).await;
        // After 10 s of silence: no burst of 40, still one every 250 ms.
        let at = starts(&limit, addr(1), 3).await;
        assert_eq!(
            at,
            vec![
                Duration::ZERO,
                Duration::from_millis(250),
                Duration::from_millis(500)
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_high_cap_or_none_does_not_delay() {
        for qps in [0, 1_000_000] {
            let limit = std::sync::Arc::new(RateLimit::per_second(qps));
            let at = starts(&limit, addr(1), 1000).await;
            let last = *at.last().unwrap();
            assert!(last <= Duration::from_millis(1), "qps {qps}: {last:?}");
        }
    }
}
