//! State stores: the keyed state every stateful operator keeps, and how it outlives a restart.
//!
//! An operator keeps each piece of its state in a [`Store`], a hash map that can remember
//! which keys changed. A task whose query has a changelog asks its stores to track changes;
//! at each commit it writes the changed entries to the changelog topic ([`changelog`]), and
//! after a restart it reads them back. Operators see the store's map API and nothing of this,
//! except that they say, through [`StoreLog`], how their values are encoded.
//!
//! The columnar aggregation keeps its groups in typed vectors behind its own index, and
//! implements [`StoreLog`] itself, slot by slot.

pub mod changelog;

use std::collections::HashMap;
use std::hash::Hash;

use crate::types::codec::{self, Decode, Encode, Input};

/// A keyed store of one operator of one task. Keys are hashed with foldhash: operators hash
/// every row's key, and SipHash's protection against chosen collisions is not worth its cost.
pub struct Store<K, V> {
    entries: HashMap<K, Entry<V>, foldhash::fast::RandomState>,
    /// The keys changed since changes were last taken, when changes are tracked: each at most
    /// once while its entry is marked, and removed keys (whose entries are gone) once.
    changed: Option<Vec<K>>,
}

struct Entry<V> {
    value: V,
    /// Whether the key is in the changed list (and not yet taken).
    changed: bool,
}

/// What a pass over every entry ([`Store::update_all`]) did to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    Unchanged,
    Changed,
    Remove,
}

impl<K, V> Default for Store<K, V> {
    fn default() -> Self {
        Store {
            entries: HashMap::default(),
            changed: None,
        }
    }
}

impl<K: Eq + Hash + Clone, V> Store<K, V> {
    pub fn new() -> Store<K, V> {
        Store::default()
    }

    /// Marks an entry changed, listing its key the first time.
    fn mark(changed: &mut Option<Vec<K>>, key: &K, entry: &mut Entry<V>) {
        if let Some(list) = changed
            && !entry.changed
        {
            entry.changed = true;
            list.push(key.clone());
        }
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|e| &e.value)
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let entry = self.entries.get_mut(key)?;
        Self::mark(&mut self.changed, key, entry);
        Some(&mut entry.value)
    }

    /// Stores a value, returning the one it replaces.
    pub fn put(&mut self, key: K, value: V) -> Option<V> {
        let tracked = self.changed.is_some();
        match self.entries.get_mut(&key) {
            Some(entry) => {
                Self::mark(&mut self.changed, &key, entry);
                Some(std::mem::replace(&mut entry.value, value))
            }
            None => {
                if let Some(list) = &mut self.changed {
                    list.push(key.clone());
                }
                self.entries.insert(
                    key,
                    Entry {
                        value,
                        changed: tracked,
                    },
                );
                None
            }
        }
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let entry = self.entries.remove(key)?;
        if let Some(list) = &mut self.changed
            && !entry.changed
        {
            list.push(key.clone());
        }
        Some(entry.value)
    }

    /// The value of a key, created by `make` when absent.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        use std::collections::hash_map::Entry as MapEntry;
        let changed = &mut self.changed;
        match self.entries.entry(key) {
            MapEntry::Occupied(mut held) => {
                if let Some(list) = changed
                    && !held.get().changed
                {
                    list.push(held.key().clone());
                    held.get_mut().changed = true;
                }
                &mut held.into_mut().value
            }
            MapEntry::Vacant(vacant) => {
                if let Some(list) = changed {
                    list.push(vacant.key().clone());
                }
                let tracked = changed.is_some();
                &mut vacant
                    .insert(Entry {
                        value: make(),
                        changed: tracked,
                    })
                    .value
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Passes over every entry, which `f` leaves, changes or removes: how operators expire
    /// state.
    pub fn update_all(&mut self, mut f: impl FnMut(&K, &mut V) -> Update) {
        let changed = &mut self.changed;
        self.entries
            .retain(|key, entry| match f(key, &mut entry.value) {
                Update::Unchanged => true,
                Update::Changed => {
                    Self::mark(changed, key, entry);
                    true
                }
                Update::Remove => {
                    if let Some(list) = changed
                        && !entry.changed
                    {
                        list.push(key.clone());
                    }
                    false
                }
            });
    }

    /// Every entry, for a snapshot.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, e)| (k, &e.value))
    }

    /// From now on, remembers which keys change.
    pub fn track_changes(&mut self) {
        self.changed.get_or_insert_with(Vec::new);
    }

    /// Hands each key changed since the last call to `f`, with its value (`None`: removed).
    pub fn take_changes(&mut self, mut f: impl FnMut(&K, Option<&V>)) {
        let Some(list) = self.changed.as_mut() else {
            return;
        };
        for key in std::mem::take(list) {
            match self.entries.get_mut(&key) {
                Some(entry) if entry.changed => {
                    entry.changed = false;
                    f(&key, Some(&entry.value));
                }
                // Listed again after a removal, and already handed over.
                Some(_) => {}
                None => f(&key, None),
            }
        }
    }

    /// Sets a key's value as a changelog says, without counting it as a change.
    pub fn restore(&mut self, key: K, value: Option<V>) {
        match value {
            Some(value) => {
                self.entries.insert(
                    key,
                    Entry {
                        value,
                        changed: false,
                    },
                );
            }
            None => {
                self.entries.remove(&key);
            }
        }
    }

    /// Counts a key as changed, present or not, so that the next changes written say what it
    /// holds now.
    pub fn touch(&mut self, key: K) {
        match self.entries.get_mut(&key) {
            Some(entry) => Self::mark(&mut self.changed, &key, entry),
            None => {
                if let Some(list) = &mut self.changed {
                    list.push(key);
                }
            }
        }
    }
}

/// How a store's values are written and read back.
pub trait ValueCodec<V> {
    fn encode(&self, value: &V, out: &mut Vec<u8>);
    fn decode(&self, input: &mut Input<'_>) -> codec::Result<V>;
}

/// The codec of values that encode themselves.
pub struct Plain;

impl<V: Encode + Decode> ValueCodec<V> for Plain {
    fn encode(&self, value: &V, out: &mut Vec<u8>) {
        value.encode(out);
    }

    fn decode(&self, input: &mut Input<'_>) -> codec::Result<V> {
        V::decode(input)
    }
}

/// Writes one encoded entry: its key, and its value (`None`: deleted).
pub type WriteEntry<'a> = dyn FnMut(&[u8], Option<&[u8]>) + 'a;

/// A piece of an operator's state as a changelog sees it: entries of encoded keys and values.
pub trait StoreLog {
    /// From now on, remembers which entries change.
    fn track_changes(&mut self);
    /// Writes each entry changed since the last call.
    fn write_changes(&mut self, write: &mut WriteEntry<'_>);
    /// Writes every entry.
    fn write_all(&self, write: &mut WriteEntry<'_>);
    /// Sets an entry as a changelog or snapshot says.
    fn apply(&mut self, key: &[u8], value: Option<&[u8]>) -> codec::Result<()>;
    /// Counts an entry as changed, so that the next changes written say what it holds now.
    fn touch(&mut self, key: &[u8]) -> codec::Result<()>;
    /// Makes room for about `entries` more entries, before a restore applies them: a store
    /// that grows by doubling rehashes everything at each step.
    fn reserve(&mut self, entries: usize);
}

/// A store seen through its codec.
pub struct Logged<'a, K, V, C> {
    store: &'a mut Store<K, V>,
    codec: C,
}

/// A store of values that encode themselves, as a changelog sees it.
pub fn logged<K, V>(store: &mut Store<K, V>) -> Logged<'_, K, V, Plain> {
    Logged {
        store,
        codec: Plain,
    }
}

/// A store whose values `codec` encodes, as a changelog sees it.
pub fn logged_with<K, V, C: ValueCodec<V>>(
    store: &mut Store<K, V>,
    codec: C,
) -> Logged<'_, K, V, C> {
    Logged { store, codec }
}

/// Encodes one entry into `buffers` and writes it.
fn write_entry<K: Encode, V>(
    codec: &impl ValueCodec<V>,
    key: &K,
    value: Option<&V>,
    buffers: &mut (Vec<u8>, Vec<u8>),
    write: &mut WriteEntry<'_>,
) {
    let (key_bytes, value_bytes) = buffers;
    key_bytes.clear();
    key.encode(key_bytes);
    match value {
        Some(value) => {
            value_bytes.clear();
            codec.encode(value, value_bytes);
            write(key_bytes, Some(value_bytes));
        }
        None => write(key_bytes, None),
    }
}

impl<K, V, C> StoreLog for Logged<'_, K, V, C>
where
    K: Encode + Decode + Eq + Hash + Clone,
    C: ValueCodec<V>,
{
    fn track_changes(&mut self) {
        self.store.track_changes();
    }

    fn write_changes(&mut self, write: &mut WriteEntry<'_>) {
        let mut buffers = (Vec::new(), Vec::new());
        let codec = &self.codec;
        self.store
            .take_changes(|key, value| write_entry(codec, key, value, &mut buffers, write));
    }

    fn write_all(&self, write: &mut WriteEntry<'_>) {
        let mut buffers = (Vec::new(), Vec::new());
        for (key, value) in self.store.iter() {
            write_entry(&self.codec, key, Some(value), &mut buffers, write);
        }
    }

    fn apply(&mut self, key: &[u8], value: Option<&[u8]>) -> codec::Result<()> {
        let key = codec::from_bytes(key)?;
        let value = match value {
            Some(bytes) => {
                let mut input = Input::new(bytes);
                let value = self.codec.decode(&mut input)?;
                if !input.is_empty() {
                    return Err(codec::CodecError::Invalid(
                        "bytes left after a value".into(),
                    ));
                }
                Some(value)
            }
            None => None,
        };
        self.store.restore(key, value);
        Ok(())
    }

    fn touch(&mut self, key: &[u8]) -> codec::Result<()> {
        self.store.touch(codec::from_bytes(key)?);
        Ok(())
    }

    fn reserve(&mut self, entries: usize) {
        self.store.entries.reserve(entries);
    }
}

/// Which store of a task an entry belongs to; stable across restarts.
pub type StoreId = u16;

/// An operator whose state a changelog keeps.
pub trait Stateful {
    /// Calls `f` with each of the operator's stores and its id.
    fn visit_stores(&mut self, f: &mut dyn FnMut(StoreId, &mut dyn StoreLog));
    /// Writes the operator's state that is not in a store (its stream time, say).
    fn save_scalars(&self, out: &mut Vec<u8>);
    /// Reads what [`Stateful::save_scalars`] wrote.
    fn load_scalars(&mut self, input: &mut Input<'_>) -> codec::Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(store: &mut Store<String, i64>) -> Vec<(String, Option<i64>)> {
        let mut out = Vec::new();
        store.take_changes(|k, v| out.push((k.clone(), v.copied())));
        out.sort();
        out
    }

    #[test]
    fn a_store_puts_gets_and_removes() {
        let mut store: Store<String, i64> = Store::new();
        assert!(store.is_empty());
        assert_eq!(store.put("a".into(), 1), None);
        assert_eq!(store.put("a".into(), 2), Some(1));
        *store.get_or_insert_with("b".into(), || 10) += 1;
        assert_eq!(store.get(&"b".to_string()), Some(&11));
        assert_eq!(store.iter().map(|(_, v)| *v).sum::<i64>(), 13);
        assert_eq!(store.remove(&"a".to_string()), Some(2));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn a_tracking_store_lists_each_changed_key_once() {
        let mut store: Store<String, i64> = Store::new();
        store.put("untracked".into(), 0);
        store.track_changes();
        store.put("a".into(), 1);
        store.put("a".into(), 2);
        *store.get_or_insert_with("b".into(), || 0) += 5;
        *store.get_mut(&"b".to_string()).expect("b") += 1;
        store.remove(&"untracked".to_string());
        // Removed and put back within one commit: its last value.
        store.put("c".into(), 1);
        store.remove(&"c".to_string());
        store.put("c".into(), 3);
        assert_eq!(
            changes(&mut store),
            vec![
                ("a".into(), Some(2)),
                ("b".into(), Some(6)),
                ("c".into(), Some(3)),
                ("untracked".into(), None)
            ]
        );
        assert_eq!(changes(&mut store), vec![]);
        store.update_all(|k, v| match k.as_str() {
            "a" => Update::Remove,
            "b" => {
                *v += 1;
                Update::Changed
            }
            _ => Update::Unchanged,
        });
        assert_eq!(
            changes(&mut store),
            vec![("a".into(), None), ("b".into(), Some(7))]
        );
    }

    #[test]
    fn a_store_comes_back_from_what_it_wrote() {
        let mut store: Store<String, i64> = Store::new();
        store.track_changes();
        store.put("a".into(), 1);
        store.put("b".into(), 2);
        let mut log: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::new();
        logged(&mut store).write_changes(&mut |k, v| log.push((k.to_vec(), v.map(<[u8]>::to_vec))));
        store.remove(&"a".to_string());
        logged(&mut store).write_changes(&mut |k, v| log.push((k.to_vec(), v.map(<[u8]>::to_vec))));
        let mut restored: Store<String, i64> = Store::new();
        for (k, v) in &log {
            logged(&mut restored)
                .apply(k, v.as_deref())
                .expect("applies");
        }
        assert_eq!(restored.len(), 1);
        assert_eq!(restored.get(&"b".to_string()), Some(&2));
    }
}
