//! "Once per key": a value made at most once per key and shared by every
//! thread that asks for it. The campaign's builds (made by its builder
//! thread, waited for by the workers), the fuzzer's memoised builds and the
//! wasm backend's compiled modules all keep their values here.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, OnceLock};

/// Values by key, each made once. A thread that asks for a key another one
/// is making waits for it; other keys go on meanwhile (the map's lock is
/// held only to find a key's slot, never while a value is made).
#[derive(Debug)]
pub struct OnceMap<K, V> {
    slots: Mutex<HashMap<K, Arc<OnceLock<V>>>>,
}

impl<K, V> Default for OnceMap<K, V> {
    fn default() -> Self {
        OnceMap { slots: Mutex::default() }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> OnceMap<K, V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    fn slot(&self, key: &K) -> Arc<OnceLock<V>> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(key.clone()).or_default().clone()
    }

    /// The value of `key`, made by `make` if no thread has made it yet.
    pub fn get_or_init(&self, key: &K, make: impl FnOnce() -> V) -> V {
        self.slot(key).get_or_init(make).clone()
    }

    /// Sets the value of `key` unless it has one (then the first stays).
    pub fn set(&self, key: &K, value: V) {
        let _ = self.slot(key).set(value);
    }

    /// The value of `key`, waiting until some thread sets or makes it.
    pub fn wait(&self, key: &K) -> V {
        self.slot(key).wait().clone()
    }

    /// How many keys have a value.
    pub fn len(&self) -> usize {
        self.slots.lock().unwrap_or_else(|e| e.into_inner()).values().filter(|s| s.get().is_some()).count()
    }

    /// Whether no key has a value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn a_value_is_made_once_per_key_and_waiters_get_it() {
        let map: OnceMap<u32, String> = OnceMap::new();
        let made = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let v = map.get_or_init(&1, || {
                        made.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(50));
                        "one".to_string()
                    });
                    assert_eq!(v, "one");
                });
            }
            // A waiter for a key nobody has made yet gets it once set.
            let waiter = s.spawn(|| map.wait(&2));
            std::thread::sleep(Duration::from_millis(20));
            map.set(&2, "two".into());
            assert_eq!(waiter.join().unwrap(), "two");
        });
        assert_eq!(made.load(Ordering::SeqCst), 1, "eight threads, one make");
        map.set(&2, "again".into());
        assert_eq!(map.wait(&2), "two", "the first value stays");
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn a_slow_key_does_not_hold_up_another() {
        let map: OnceMap<u32, u32> = OnceMap::new();
        std::thread::scope(|s| {
            s.spawn(|| {
                map.get_or_init(&1, || {
                    std::thread::sleep(Duration::from_millis(500));
                    1
                })
            });
            std::thread::sleep(Duration::from_millis(20));
            let t = std::time::Instant::now();
            assert_eq!(map.get_or_init(&2, || 2), 2);
            assert!(t.elapsed() < Duration::from_millis(300), "{:?}", t.elapsed());
        });
    }
}
