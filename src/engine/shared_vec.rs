//! [`SharedVec`]: a vector whose clones share all but its newest items.
//!
//! A session's history is copied for every turn, and a replay keeps copies of the run model
//! to seek back to; with plain vectors each copy would cost the whole history, and a long run
//! would cost the square of its length. Items live in chunks behind `Arc`s: a clone copies the
//! chunk pointers and the short unsealed tail, and changing an item in a chunk that is shared
//! copies that one chunk. Items can be dropped from the front (bounded timelines); indices
//! count from the first item ever pushed, so they stay valid as the front goes.

use std::collections::VecDeque;
use std::sync::Arc;

/// Items per sealed chunk: large enough that chunk pointers cost little, small enough that
/// copying the tail or one shared chunk stays cheap.
const CHUNK: usize = 64;

#[derive(Debug)]
pub struct SharedVec<T> {
    sealed: VecDeque<Arc<Vec<T>>>,
    tail: Vec<T>,
    /// Index of the first item of `sealed[0]` (or of `tail` when nothing is sealed).
    base: u64,
    /// Items at the start of the first chunk that were dropped but are still stored.
    skip: usize,
}

impl<T: Clone> Clone for SharedVec<T> {
    fn clone(&self) -> Self {
        Self {
            sealed: self.sealed.clone(),
            tail: self.tail.clone(),
            base: self.base,
            skip: self.skip,
        }
    }
}

impl<T> Default for SharedVec<T> {
    fn default() -> Self {
        Self {
            sealed: VecDeque::new(),
            tail: Vec::new(),
            base: 0,
            skip: 0,
        }
    }
}

impl<T: PartialEq> PartialEq for SharedVec<T> {
    fn eq(&self, other: &Self) -> bool {
        self.first_index() == other.first_index()
            && self.len() == other.len()
            && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl<T> SharedVec<T> {
    /// Items kept.
    pub fn len(&self) -> usize {
        self.sealed.len() * CHUNK + self.tail.len() - self.skip
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The index of the first item kept (items dropped from the front keep their numbers).
    pub fn first_index(&self) -> u64 {
        self.base + self.skip as u64
    }

    /// The index the next pushed item gets.
    pub fn end_index(&self) -> u64 {
        self.first_index() + self.len() as u64
    }

    /// The item with index `index`, if it is kept.
    pub fn get(&self, index: u64) -> Option<&T> {
        if index < self.first_index() {
            return None;
        }
        let at = usize::try_from(index - self.base).ok()?;
        let (chunk, offset) = (at / CHUNK, at % CHUNK);
        match self.sealed.get(chunk) {
            Some(c) => c.get(offset),
            None => self.tail.get(at - self.sealed.len() * CHUNK),
        }
    }

    pub fn last(&self) -> Option<&T> {
        self.tail.last().or_else(|| {
            self.sealed
                .back()
                .and_then(|c| c.last())
                .filter(|_| !self.is_empty())
        })
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + '_ {
        let skip = self.skip;
        self.sealed
            .iter()
            .enumerate()
            .flat_map(move |(i, c)| c[if i == 0 { skip } else { 0 }..].iter())
            .chain(self.tail[if self.sealed.is_empty() { skip } else { 0 }..].iter())
    }

    /// Items from index `from` on (all kept ones if `from` was dropped).
    pub fn iter_from(&self, from: u64) -> impl Iterator<Item = &T> + '_ {
        let skip = from.saturating_sub(self.first_index());
        self.iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
    }

    /// The index of the newest item that matches.
    pub fn rfind_index(&self, matches: impl FnMut(&T) -> bool) -> Option<u64> {
        let end = self.end_index();
        self.iter()
            .rev()
            .position(matches)
            .map(|back| end - 1 - back as u64)
    }

    pub fn push(&mut self, item: T) {
        self.tail.push(item);
        if self.tail.len() == CHUNK {
            let full = std::mem::replace(&mut self.tail, Vec::with_capacity(CHUNK));
            self.sealed.push_back(Arc::new(full));
        }
    }

    /// Drops the first item kept.
    pub fn pop_front(&mut self) {
        if self.is_empty() {
            return;
        }
        self.skip += 1;
        if self.sealed.is_empty() {
            // Only the tail holds items: drop for real, it is not shared.
            self.tail.remove(0);
            self.skip -= 1;
            self.base += 1;
        } else if self.skip == CHUNK {
            self.sealed.pop_front();
            self.skip = 0;
            self.base += CHUNK as u64;
        }
    }
}

impl<T: Clone> SharedVec<T> {
    /// Keeps the first `len` items kept; returns the rest, in order.
    pub fn truncate(&mut self, len: usize) -> Vec<T> {
        if len >= self.len() {
            return Vec::new();
        }
        let all: Vec<T> = self.iter().cloned().collect();
        let (kept, rest) = all.split_at(len);
        let first = self.first_index();
        *self = SharedVec::default();
        self.base = first;
        self.extend(kept.iter().cloned());
        rest.to_vec()
    }
}

impl<T: PartialEq> SharedVec<T> {
    /// Whether `prefix` holds the same items as the start of `self`. Chunks the two share are
    /// not looked into, so a copy's prefix is recognised in the time it takes to compare
    /// chunk pointers and a tail.
    pub fn starts_with(&self, prefix: &SharedVec<T>) -> bool {
        if prefix.first_index() != self.first_index() || prefix.len() > self.len() {
            return false;
        }
        let mut at = prefix.first_index();
        for (i, chunk) in prefix.sealed.iter().enumerate() {
            let shared = self
                .sealed
                .get(i)
                .is_some_and(|mine| Arc::ptr_eq(mine, chunk) && self.base == prefix.base);
            if shared {
                at += (CHUNK - if i == 0 { prefix.skip } else { 0 }) as u64;
                continue;
            }
            let from = if i == 0 { prefix.skip } else { 0 };
            for item in &chunk[from..] {
                if self.get(at) != Some(item) {
                    return false;
                }
                at += 1;
            }
        }
        let from = if prefix.sealed.is_empty() {
            prefix.skip
        } else {
            0
        };
        prefix.tail[from..].iter().all(|item| {
            let same = self.get(at) == Some(item);
            at += 1;
            same
        })
    }
}

impl<T: Clone> SharedVec<T> {
    /// The item with index `index` to change; a chunk shared with a clone is copied first.
    pub fn get_mut(&mut self, index: u64) -> Option<&mut T> {
        if index < self.first_index() {
            return None;
        }
        let at = usize::try_from(index - self.base).ok()?;
        let (chunk, offset) = (at / CHUNK, at % CHUNK);
        let sealed = self.sealed.len();
        match self.sealed.get_mut(chunk) {
            Some(c) => Arc::make_mut(c).get_mut(offset),
            None => self.tail.get_mut(at - sealed * CHUNK),
        }
    }

    pub fn last_mut(&mut self) -> Option<&mut T> {
        let end = self.end_index();
        end.checked_sub(1)
            .filter(|_| !self.is_empty())
            .and_then(|last| self.get_mut(last))
    }
}

impl<T> FromIterator<T> for SharedVec<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut v = SharedVec::default();
        for item in iter {
            v.push(item);
        }
        v
    }
}

impl<T> Extend<T> for SharedVec<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for item in iter {
            self.push(item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_sealed_chunks_and_diverge_on_change() {
        let mut a: SharedVec<u32> = (0..200).collect();
        let b = a.clone();
        assert!(Arc::ptr_eq(&a.sealed[0], &b.sealed[0]));
        *a.get_mut(3).unwrap() = 99;
        a.push(200);
        assert_eq!(b.get(3), Some(&3), "the clone keeps its own value");
        assert_eq!(a.get(3), Some(&99));
        assert!(!Arc::ptr_eq(&a.sealed[0], &b.sealed[0]));
        assert!(
            Arc::ptr_eq(&a.sealed[1], &b.sealed[1]),
            "untouched chunks stay shared"
        );
        assert_eq!(a.len(), 201);
        assert_eq!(b.len(), 200);
        assert_eq!(a.last(), Some(&200));
        assert_eq!(
            b.iter().copied().collect::<Vec<_>>(),
            (0..200).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_copy_that_grew_starts_with_the_original_and_a_changed_one_does_not() {
        let a: SharedVec<u32> = (0..150).collect();
        let mut b = a.clone();
        b.extend(150..300);
        assert!(b.starts_with(&a));
        assert!(!a.starts_with(&b));
        let mut c: SharedVec<u32> = (0..150).collect();
        assert!(c.starts_with(&a), "equal items, separate storage");
        *c.get_mut(70).unwrap() = 7;
        assert!(!c.starts_with(&a));
        let mut d = a.clone();
        *d.get_mut(149).unwrap() = 0;
        assert!(!d.starts_with(&a), "a changed tail item");
        assert!(a.starts_with(&SharedVec::default()));
    }

    #[test]
    fn dropping_from_the_front_keeps_indices() {
        let mut v: SharedVec<u32> = (0..150).collect();
        for _ in 0..70 {
            v.pop_front();
        }
        assert_eq!(v.first_index(), 70);
        assert_eq!(v.len(), 80);
        assert_eq!(v.get(69), None);
        assert_eq!(v.get(70), Some(&70));
        assert_eq!(v.get(149), Some(&149));
        assert_eq!(v.get(150), None);
        assert_eq!(v.end_index(), 150);
        assert_eq!(v.iter().next(), Some(&70));
        assert_eq!(v.iter_from(140).count(), 10);
        assert_eq!(v.iter().next_back(), Some(&149));
        while !v.is_empty() {
            v.pop_front();
        }
        assert_eq!(v.first_index(), 150);
        assert_eq!(v.last(), None);
        v.push(7);
        assert_eq!(v.get(150), Some(&7));
    }
}
