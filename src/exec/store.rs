//! State stores: the keyed state every stateful operator keeps, behind one trait.
//!
//! Operators see only [`StateStore`]; today every store is a [`MemoryStore`]. A store backed by
//! a compacted changelog topic (so a restarted task rebuilds its state) implements the same
//! trait, and the operators don't change. The columnar aggregation is the exception: it keeps
//! its groups in typed vectors behind its own compact index (`aggregate::index`), which a
//! changelog would restore slot by slot.

use std::collections::HashMap;
use std::hash::Hash;

/// A keyed store of one operator of one task.
pub trait StateStore<K, V>: Send {
    fn get(&self, key: &K) -> Option<&V>;
    fn get_mut(&mut self, key: &K) -> Option<&mut V>;
    /// Stores a value, returning the one it replaces.
    fn put(&mut self, key: K, value: V) -> Option<V>;
    fn remove(&mut self, key: &K) -> Option<V>;
    /// The value of a key, created by `make` when absent.
    fn get_or_insert_with(&mut self, key: K, make: &mut dyn FnMut() -> V) -> &mut V;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn for_each_mut(&mut self, f: &mut dyn FnMut(&K, &mut V));
    /// Keeps the entries `keep` accepts: how operators drop state that has expired.
    fn retain(&mut self, keep: &mut dyn FnMut(&K, &mut V) -> bool);
}

/// The store an operator gets for a piece of its state.
pub type Store<K, V> = Box<dyn StateStore<K, V>>;

/// A new, empty in-memory store.
pub fn memory<K, V>() -> Store<K, V>
where
    K: Eq + Hash + Send + 'static,
    V: Send + 'static,
{
    Box::new(MemoryStore(HashMap::default()))
}

/// A store held in memory. Keys are hashed with foldhash: operators hash every row's key, and
/// SipHash's protection against chosen collisions is not worth its cost here.
#[derive(Debug, Default)]
pub struct MemoryStore<K, V>(HashMap<K, V, foldhash::fast::RandomState>);

impl<K: Eq + Hash + Send, V: Send> StateStore<K, V> for MemoryStore<K, V> {
    fn get(&self, key: &K) -> Option<&V> {
        self.0.get(key)
    }

    fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.0.get_mut(key)
    }

    fn put(&mut self, key: K, value: V) -> Option<V> {
        self.0.insert(key, value)
    }

    fn remove(&mut self, key: &K) -> Option<V> {
        self.0.remove(key)
    }

    fn get_or_insert_with(&mut self, key: K, make: &mut dyn FnMut() -> V) -> &mut V {
        self.0.entry(key).or_insert_with(make)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn for_each_mut(&mut self, f: &mut dyn FnMut(&K, &mut V)) {
        for (k, v) in self.0.iter_mut() {
            f(k, v);
        }
    }

    fn retain(&mut self, keep: &mut dyn FnMut(&K, &mut V) -> bool) {
        self.0.retain(|k, v| keep(k, v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_puts_gets_and_removes() {
        let mut store: Store<String, i64> = memory();
        assert!(store.is_empty());
        assert_eq!(store.put("a".into(), 1), None);
        assert_eq!(store.put("a".into(), 2), Some(1));
        *store.get_or_insert_with("b".into(), &mut || 10) += 1;
        assert_eq!(store.get(&"b".to_string()), Some(&11));
        let mut sum = 0;
        store.for_each_mut(&mut |_, v| sum += *v);
        assert_eq!(sum, 13);
        assert_eq!(store.remove(&"a".to_string()), Some(2));
        assert_eq!(store.len(), 1);
    }
}
