//! Interned ACL lists (Apache's `ReferenceCountedACLCache`): a znode stores a 4-byte
//! [`AclId`]; each distinct list is stored once with a reference count, and its slot is
//! reused once no znode refers to it.

use std::collections::BTreeMap;
use std::sync::Arc;
use zk_proto::Acl;

/// The handle of an interned ACL list.
pub type AclId = u32;

#[derive(Debug, Clone)]
struct Entry {
    acl: Arc<[Acl]>,
    references: u64,
}

/// The table of interned ACL lists.
#[derive(Debug, Clone, Default)]
pub struct AclCache {
    /// Indexed by `AclId`; `None` for a free slot.
    slots: Vec<Option<Entry>>,
    /// Free slots, reused last-freed first (deterministic).
    free: Vec<AclId>,
    /// The id of each stored list. A BTreeMap: no random hash state, and lists are few.
    ids: BTreeMap<Arc<[Acl]>, AclId>,
}

impl AclCache {
    /// The id of `acl`, storing it if new, and counts one more reference to it.
    pub fn intern(&mut self, acl: &[Acl]) -> AclId {
        if let Some(&id) = self.ids.get(acl) {
            self.entry_mut(id).references += 1;
            return id;
        }
        let acl: Arc<[Acl]> = Arc::from(acl);
        let entry = Entry {
            acl: Arc::clone(&acl),
            references: 1,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = Some(entry);
                id
            }
            None => {
                let id = AclId::try_from(self.slots.len()).expect("fewer than 2^32 ACL lists");
                self.slots.push(Some(entry));
                id
            }
        };
        self.ids.insert(acl, id);
        id
    }

    /// Drops one reference to `id`, freeing the list with its last reference.
    pub fn release(&mut self, id: AclId) {
        let entry = self.entry_mut(id);
        assert!(
            entry.references > 0,
            "ACL {id} released more often than interned"
        );
        entry.references -= 1;
        if entry.references == 0 {
            let entry = self.slots[id as usize].take().expect("checked above");
            self.ids.remove(&entry.acl);
            self.free.push(id);
        }
    }

    /// The list behind `id`.
    pub fn get(&self, id: AclId) -> &Arc<[Acl]> {
        &self.entry(id).acl
    }

    /// How many distinct lists are stored.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Every stored list with its id, ordered by the lists' contents (how a snapshot
    /// numbers them: the order depends on nothing but the lists).
    pub fn in_content_order(&self) -> impl Iterator<Item = (AclId, &Arc<[Acl]>)> {
        self.ids.iter().map(|(acl, &id)| (id, acl))
    }

    /// One more than the largest id ever handed out (the size of a table indexed by id).
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    fn entry(&self, id: AclId) -> &Entry {
        self.slots
            .get(id as usize)
            .and_then(Option::as_ref)
            .unwrap_or_else(|| panic!("ACL {id} is not interned"))
    }

    fn entry_mut(&mut self, id: AclId) -> &mut Entry {
        self.slots
            .get_mut(id as usize)
            .and_then(Option::as_mut)
            .unwrap_or_else(|| panic!("ACL {id} is not interned"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_lists_share_one_slot_until_the_last_release() {
        let mut cache = AclCache::default();
        let open = Acl::open_unsafe();
        let read = Acl::read_unsafe();
        let a = cache.intern(&open);
        let b = cache.intern(&open);
        let c = cache.intern(&read);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(cache.len(), 2);
        cache.release(a);
        assert_eq!(&**cache.get(b), &open[..]);
        cache.release(b);
        assert_eq!(cache.len(), 1);
        // The freed slot is reused.
        assert_eq!(cache.intern(&open), a);
    }

    #[test]
    fn content_order_does_not_depend_on_the_order_of_interning() {
        let digest_only = vec![Acl {
            perms: zk_proto::Perms::ALL,
            id: zk_proto::Id {
                scheme: "digest".into(),
                id: "bob:hash".into(),
            },
        }];
        let lists = [Acl::read_unsafe(), Acl::open_unsafe(), digest_only];
        let contents = |cache: &AclCache| -> Vec<Vec<Acl>> {
            cache
                .in_content_order()
                .map(|(id, acl)| {
                    assert_eq!(cache.get(id), acl);
                    acl.to_vec()
                })
                .collect()
        };
        let mut forward = AclCache::default();
        let mut backward = AclCache::default();
        for list in &lists {
            forward.intern(list);
        }
        for list in lists.iter().rev() {
            backward.intern(list);
        }
        let mut sorted = lists.to_vec();
        sorted.sort();
        assert_eq!(contents(&forward), sorted);
        assert_eq!(contents(&backward), sorted);
    }
}
