//! Memoised async results, computed once per key even when many tasks ask at once
//! (a thousand names under one zone share one walk, one CAA lookup per node, ...).

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

pub struct Memo<K, V> {
    cells: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo {
            cells: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Memo<K, V> {
    /// The value for `key`, computing it with `f` the first time.
    pub async fn get_or_init<F, Fut>(&self, key: K, f: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let cell = self.cells.lock().unwrap().entry(key).or_default().clone();
        cell.get_or_init(f).await.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

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
}
