//! The requests that re-register a session's watches after it reconnects: `setWatches2`
//! (or `setWatches` when there is no persistent watch, which servers before 3.6 understand),
//! split so that no request exceeds a size the server accepts, as the Java client does.

use crate::watch::registry::WatchLists;
use zk_proto::{RequestBody, SetWatches, SetWatches2, Zxid};

/// The Java client's limit on the paths' bytes in one `setWatches` request.
pub(crate) const SET_WATCHES_MAX_BYTES: usize = 128 * 1024;

/// The requests that re-register `lists`, with `relative_zxid` the last zxid the client saw
/// (the server fires at once the watches whose nodes changed after it).
pub(crate) fn requests(
    lists: &WatchLists,
    relative_zxid: Zxid,
    max_bytes: usize,
) -> Vec<RequestBody> {
    let use_v2 = lists.has_persistent();
    let sources: [&[String]; 5] = [
        &lists.data,
        &lists.exist,
        &lists.child,
        &lists.persistent,
        &lists.persistent_recursive,
    ];
    let mut batches: Vec<[Vec<String>; 5]> = Vec::new();
    let mut current: [Vec<String>; 5] = Default::default();
    let mut current_bytes = 0;
    for (kind, paths) in sources.iter().enumerate() {
        for path in paths.iter() {
            // 4 bytes of length prefix per string on the wire.
            let cost = path.len() + 4;
            if current_bytes > 0 && current_bytes + cost > max_bytes {
                batches.push(std::mem::take(&mut current));
                current_bytes = 0;
            }
            current[kind].push(path.clone());
            current_bytes += cost;
        }
    }
    if current_bytes > 0 {
        batches.push(current);
    }
    batches
        .into_iter()
        .map(|[data, exist, child, persistent, persistent_recursive]| {
            if use_v2 {
                RequestBody::SetWatches2(SetWatches2 {
                    relative_zxid,
                    data_watches: data,
                    exist_watches: exist,
                    child_watches: child,
                    persistent_watches: persistent,
                    persistent_recursive_watches: persistent_recursive,
                })
            } else {
                RequestBody::SetWatches(SetWatches {
                    relative_zxid,
                    data_watches: data,
                    exist_watches: exist,
                    child_watches: child,
                })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_to_register_sends_nothing() {
        assert!(requests(&WatchLists::default(), Zxid(1), 100).is_empty());
    }

    #[test]
    fn plain_watches_use_set_watches_and_persistent_ones_v2() {
        let lists = WatchLists {
            data: vec!["/a".into()],
            ..WatchLists::default()
        };
        let plain = requests(&lists, Zxid(7), 1000);
        assert!(matches!(&plain[..], [RequestBody::SetWatches(s)] if s.relative_zxid == Zxid(7)));
        let lists = WatchLists {
            persistent_recursive: vec!["/r".into()],
            ..lists
        };
        assert!(matches!(
            &requests(&lists, Zxid(7), 1000)[..],
            [RequestBody::SetWatches2(_)]
        ));
    }

    #[test]
    fn large_lists_are_split_without_losing_a_path() {
        let paths: Vec<String> = (0..100).map(|i| format!("/node-{i:04}")).collect();
        let lists = WatchLists {
            data: paths.clone(),
            child: paths.clone(),
            ..WatchLists::default()
        };
        let batches = requests(&lists, Zxid(1), 200);
        assert!(batches.len() > 1);
        let mut data = Vec::new();
        let mut child = Vec::new();
        for batch in batches {
            let RequestBody::SetWatches(set) = batch else {
                panic!("plain watches use setWatches")
            };
            let bytes: usize = set
                .data_watches
                .iter()
                .chain(&set.child_watches)
                .map(|p| p.len() + 4)
                .sum();
            assert!(bytes <= 200);
            data.extend(set.data_watches);
            child.extend(set.child_watches);
        }
        assert_eq!(data, paths);
        assert_eq!(child, paths);
    }
}
