//! Group ids to dense slots, in little memory.
//!
//! The columnar aggregation keeps each group's state at a *slot*, an index into typed vectors.
//! This index maps a group's id (its key in Arrow's row format, and for windows the window
//! start) to its slot. The hash table holds only the 4-byte slot numbers; the ids lie end to
//! end in one buffer, found through each slot's span. A group then costs its id's bytes and
//! about a dozen bytes of index, where a map from owned ids would cost a boxed or inline id of
//! fixed size, plus padding, in every bucket.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::exec::ExecError;

/// The most bytes of ids the buffer holds (spans are 32-bit).
const MAX_ID_BYTES: usize = u32::MAX as usize;

#[derive(Default)]
pub(super) struct GroupIndex {
    table: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    /// Per slot: where its id sits in `ids` (start, length).
    spans: Vec<(u32, u32)>,
    ids: Vec<u8>,
    /// Bytes of `ids` that belong to no group any more.
    garbage: usize,
    /// Slots whose groups were removed, to be reused.
    free: Vec<u32>,
}

/// Where a group was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    Existing(u32),
    /// A new group at a slot that never held one.
    Added(u32),
    /// A new group at the slot of a removed one: its state must be reset.
    Reused(u32),
}

impl GroupIndex {
    /// The slot of the group `id`, which is added if new.
    pub(super) fn slot(&mut self, id: &[u8]) -> Result<Slot, ExecError> {
        let hash = self.hasher.hash_one(id);
        let (spans, ids) = (&self.spans, &self.ids);
        if let Some(&slot) = self
            .table
            .find(hash, |&slot| span_id(spans, ids, slot) == id)
        {
            return Ok(Slot::Existing(slot));
        }
        if self.ids.len() + id.len() > MAX_ID_BYTES {
            self.compact();
            if self.ids.len() + id.len() > MAX_ID_BYTES {
                return Err(ExecError::internal(
                    "an aggregation's group keys exceed 4 GiB",
                ));
            }
        }
        let span = (self.ids.len() as u32, id.len() as u32);
        self.ids.extend_from_slice(id);
        let slot = match self.free.pop() {
            Some(slot) => {
                self.spans[slot as usize] = span;
                Slot::Reused(slot)
            }
            None => {
                self.spans.push(span);
                Slot::Added((self.spans.len() - 1) as u32)
            }
        };
        let number = match slot {
            Slot::Existing(n) | Slot::Added(n) | Slot::Reused(n) => n,
        };
        let (spans, ids, hasher) = (&self.spans, &self.ids, &self.hasher);
        self.table.insert_unique(hash, number, |&slot| {
            hasher.hash_one(span_id(spans, ids, slot))
        });
        Ok(slot)
    }

    /// Removes the groups whose ids `keep` rejects (given each group's slot and id); their
    /// slots are reused.
    pub(super) fn retain(&mut self, keep: &mut dyn FnMut(u32, &[u8]) -> bool) {
        let (spans, ids) = (&self.spans, &self.ids);
        let (free, garbage) = (&mut self.free, &mut self.garbage);
        self.table.retain(|slot| {
            let id = span_id(spans, ids, *slot);
            let kept = keep(*slot, id);
            if !kept {
                free.push(*slot);
                *garbage += id.len();
            }
            kept
        });
        if self.garbage > self.ids.len() / 2 {
            self.compact();
        }
    }

    /// Makes room for about `groups` more groups.
    pub(super) fn reserve(&mut self, groups: usize) {
        let (spans, ids, hasher) = (&self.spans, &self.ids, &self.hasher);
        self.table
            .reserve(groups, |&slot| hasher.hash_one(span_id(spans, ids, slot)));
        self.spans.reserve(groups);
    }

    /// The slot of a group, if it has one.
    pub(super) fn find(&self, id: &[u8]) -> Option<u32> {
        let hash = self.hasher.hash_one(id);
        self.table
            .find(hash, |&slot| span_id(&self.spans, &self.ids, slot) == id)
            .copied()
    }

    /// Removes one group; its slot is reused.
    pub(super) fn remove(&mut self, id: &[u8]) -> Option<u32> {
        let hash = self.hasher.hash_one(id);
        let (spans, ids) = (&self.spans, &self.ids);
        let entry = self
            .table
            .find_entry(hash, |&slot| span_id(spans, ids, slot) == id)
            .ok()?;
        let (slot, _) = entry.remove();
        self.free.push(slot);
        self.garbage += id.len();
        Some(slot)
    }

    /// The id of the group at a slot.
    pub(super) fn id(&self, slot: u32) -> &[u8] {
        span_id(&self.spans, &self.ids, slot)
    }

    /// Every group: its slot and id.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u32, &[u8])> {
        self.table
            .iter()
            .map(|&slot| (slot, span_id(&self.spans, &self.ids, slot)))
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.table.len()
    }

    /// Rewrites the ids of the live groups end to end, dropping the removed ones' bytes.
    fn compact(&mut self) {
        let mut ids = Vec::with_capacity(self.ids.len() - self.garbage);
        for &slot in self.table.iter() {
            let id = span_id(&self.spans, &self.ids, slot);
            let span = (ids.len() as u32, id.len() as u32);
            ids.extend_from_slice(id);
            if let Some(s) = self.spans.get_mut(slot as usize) {
                *s = span;
            }
        }
        self.ids = ids;
        self.garbage = 0;
    }
}

/// The id at a slot's span.
fn span_id<'a>(spans: &[(u32, u32)], ids: &'a [u8], slot: u32) -> &'a [u8] {
    spans
        .get(slot as usize)
        .and_then(|&(start, len)| ids.get(start as usize..start as usize + len as usize))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_their_slots_and_removed_slots_are_reused() {
        let mut index = GroupIndex::default();
        let id = |n: u32| n.to_be_bytes().repeat((n % 3 + 1) as usize);
        for n in 0..1000 {
            assert_eq!(index.slot(&id(n)).unwrap(), Slot::Added(n));
        }
        for n in 0..1000 {
            assert_eq!(index.slot(&id(n)).unwrap(), Slot::Existing(n));
        }
        // Dropping most groups compacts the ids; the rest keep their slots.
        index.retain(&mut |_, bytes| bytes.first() == Some(&0) && bytes[3] % 10 == 0);
        assert!(index.len() < 1000);
        assert_eq!(index.garbage, 0);
        for n in (0..250).filter(|n| n % 10 == 0) {
            assert_eq!(index.slot(&id(n)).unwrap(), Slot::Existing(n));
        }
        let Slot::Reused(slot) = index.slot(b"new").unwrap() else {
            panic!("a removed slot is reused first");
        };
        assert_eq!(index.slot(b"new").unwrap(), Slot::Existing(slot));
        index.slot(b"").unwrap();
        assert!(matches!(index.slot(b"").unwrap(), Slot::Existing(_)));
    }
}
