//! Memoised async results, computed once per key even when many tasks ask at once
//! (a thousand names under one zone share one walk, one CAA lookup per node, ...).
//!
//! A value lives no longer than the smaller of its TTL and the current run or poll
//! round: every memo of an engine shares one [`Epoch`], and advancing it (at the start
//! of each run or round) forgets everything memoised before.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// The run or poll round that memoised values belong to; shared by the memos of one
/// engine.
#[derive(Clone, Debug, Default)]
pub struct Epoch(Arc<AtomicU64>);

impl Epoch {
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Starts a new run or round: every value memoised so far is asked again.
    pub fn advance(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// How long a value may be reused (None: for the rest of the run or round).
pub type TtlOf<V> = fn(&V) -> Option<Duration>;

struct Stamped<V> {
    value: V,
    expires: Option<Instant>,
}

type Cell<V> = Arc<OnceCell<Stamped<V>>>;

struct Cells<K, V> {
    epoch: u64,
    map: HashMap<K, Cell<V>>,
}

pub struct Memo<K, V> {
    cells: Mutex<Cells<K, V>>,
    epoch: Epoch,
    ttl: TtlOf<V>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo::new(Epoch::default(), |_| None)
    }
}

impl<K, V> Memo<K, V> {
    /// A memo whose values expire with `epoch` or after `ttl(value)`, whichever is first.
    pub fn new(epoch: Epoch, ttl: TtlOf<V>) -> Self {
        Memo {
            cells: Mutex::new(Cells {
                epoch: epoch.current(),
                map: HashMap::new(),
            }),
            epoch,
            ttl,
        }
    }

    pub fn epoch(&self) -> &Epoch {
        &self.epoch
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Memo<K, V> {
    /// The value for `key`, computing it with `f` the first time in this run (or again
    /// once its TTL has run out).
    pub async fn get_or_init<F, Fut>(&self, key: K, f: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let cell = self.fresh_cell(key);
        cell.get_or_init(|| async {
            let value = f().await;
            let expires = (self.ttl)(&value).map(|d| Instant::now() + d);
            Stamped { value, expires }
        })
        .await
        .value
        .clone()
    }

    /// Forgets the value for `key`: a caller still waiting for it gets it, the next one
    /// computes it again. A run forgets what only one name needed once that name is
    /// judged, so its memory does not grow with the names it has done.
    pub fn forget(&self, key: &K) {
        let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
        cells.map.remove(key);
    }

    /// Whether a value (or a computation) for `key` is held.
    #[cfg(test)]
    pub fn holds(&self, key: &K) -> bool {
        let cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
        cells.map.contains_key(key)
    }

    /// The cell for `key`: the memoised one while it is of this epoch and not expired
    /// (or still being computed), else a new empty one.
    fn fresh_cell(&self, key: K) -> Cell<V> {
        let mut cells = self.cells.lock().unwrap();
        let now = self.epoch.current();
        if cells.epoch != now {
            cells.map.clear();
            cells.epoch = now;
        }
        let live = cells.map.get(&key).filter(|c| {
            c.get()
                .is_none_or(|s| s.expires.is_none_or(|e| e > Instant::now()))
        });
        if let Some(c) = live {
            return c.clone();
        }
        let c: Cell<V> = Arc::default();
        cells.map.insert(key, c.clone());
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn concurrent_askers_share_one_computation() {
        let memo: Memo<&str, usize> = Memo::default();
        let runs = AtomicUsize::new(0);
        let ask = || {
            memo.get_or_init("k", || async {
                tokio::task::yield_now().await;
                runs.fetch_add(1, Ordering::SeqCst) + 41
            })
        };
        let (a, b) = tokio::join!(ask(), ask());
        assert_eq!((a, b), (41, 41));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_new_epoch_asks_again() {
        let epoch = Epoch::default();
        let memo: Memo<&str, usize> = Memo::new(epoch.clone(), |_| None);
        let runs = AtomicUsize::new(0);
        let ask = || memo.get_or_init("k", || async { runs.fetch_add(1, Ordering::SeqCst) });
        assert_eq!(ask().await, 0);
        assert_eq!(ask().await, 0, "same run: memoised");
        epoch.advance();
        assert_eq!(ask().await, 1, "next run: asked again");
        assert_eq!(ask().await, 1);
    }

    #[tokio::test]
    async fn an_expired_ttl_asks_again_within_one_run() {
        let memo: Memo<&str, (usize, u64)> =
            Memo::new(Epoch::default(), |v| Some(Duration::from_millis(v.1)));
        let runs = &AtomicUsize::new(0);
        let ask = |ttl_ms: u64| {
            memo.get_or_init("k", move || async move {
                (runs.fetch_add(1, Ordering::SeqCst), ttl_ms)
            })
        };
        assert_eq!(ask(0).await.0, 0);
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert_eq!(ask(60_000).await.0, 1, "ttl 0 ran out: asked again");
        assert_eq!(ask(60_000).await.0, 1, "ttl 60 s: memoised");
    }
}
